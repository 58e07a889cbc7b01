# Checks of the container and Cloud Run deployment (Dockerfile, deploy/), which run here without a
# Docker engine or a cloud account. Included from tests/CMakeLists.txt.
set(CUTOUT_DEPLOY_TESTS ${CMAKE_CURRENT_LIST_DIR})
add_test(NAME deploy_dockerfile
  COMMAND ${CUTOUT_PYTHON} ${CUTOUT_DEPLOY_TESTS}/check_dockerfile.py ${PROJECT_SOURCE_DIR})
add_test(NAME deploy_runtime_libs
  COMMAND ${CUTOUT_PYTHON} ${CUTOUT_DEPLOY_TESTS}/check_runtime_libs.py ${PROJECT_SOURCE_DIR}
          $<TARGET_FILE:cutout-server>)
add_test(NAME deploy_service_yaml
  COMMAND ${CUTOUT_PYTHON} ${CUTOUT_DEPLOY_TESTS}/check_service_yaml.py ${PROJECT_SOURCE_DIR}
          $<TARGET_FILE:cutout-server>)
# A real Dockerfile parser (dockerfile-utils, installed by scripts/setup.sh --for-tests).
add_test(NAME deploy_dockerfile_lint COMMAND ${CUTOUT_DEPLOY_TESTS}/lint/run.sh ${PROJECT_SOURCE_DIR})
add_test(NAME deploy_shellcheck COMMAND ${CUTOUT_DEPLOY_TESTS}/shellcheck.sh ${PROJECT_SOURCE_DIR})
add_test(NAME deploy_cost_model
  COMMAND ${CUTOUT_PYTHON} -m unittest -v tests/deploy/test_cost_model.py
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(deploy_dockerfile deploy_dockerfile_lint deploy_runtime_libs deploy_service_yaml deploy_shellcheck
  deploy_cost_model PROPERTIES TIMEOUT 120 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
# Each Dockerfile build stage built from exactly what it sees: the context after .dockerignore (and
# .gcloudignore for Cloud Build), only its COPY sources, its own cmake commands. The CPU stage is
# configured and built (incremental in build/stage-build, ccache); the CUDA stage is configured.
add_test(NAME deploy_stage_build_cpu
  COMMAND ${CUTOUT_PYTHON} ${CUTOUT_DEPLOY_TESTS}/stage_build.py ${PROJECT_SOURCE_DIR}
          ${PROJECT_BINARY_DIR}/stage-build build-cpu)
add_test(NAME deploy_stage_build_cuda
  COMMAND ${CUTOUT_PYTHON} ${CUTOUT_DEPLOY_TESTS}/stage_build.py ${PROJECT_SOURCE_DIR}
          ${PROJECT_BINARY_DIR}/stage-build build-cuda --configure-only)
set_tests_properties(deploy_stage_build_cpu PROPERTIES TIMEOUT 1800 RUN_SERIAL TRUE
  ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
set_tests_properties(deploy_stage_build_cuda PROPERTIES TIMEOUT 300 ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
# deploy/nginx/cutout-front.conf in front of the real binary (nginx-light, from setup.sh
# --for-tests); skipped with the reason when nginx is absent.
add_test(NAME deploy_nginx_front
  COMMAND ${CUTOUT_PYTHON} ${CUTOUT_DEPLOY_TESTS}/nginx_front_test.py ${PROJECT_SOURCE_DIR}
          $<TARGET_FILE:cutout-server> ${CUTOUT_FIXTURE_DIR})
set_tests_properties(deploy_nginx_front PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77
  ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
