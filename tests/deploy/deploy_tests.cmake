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
