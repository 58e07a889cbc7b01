#pragma once
// One process-wide pool of worker threads for the CPU stages of a request (resize, mask upsample,
// compose, encode). Every parallel loop of every concurrent request shares these workers, so N
// requests at once do not start N x cores threads.

#include <cstdint>
#include <functional>

namespace cutout::core {

// Runs fn(chunk_begin, chunk_end) over [begin, end) cut into contiguous chunks of at least `grain`
// items (grain >= 1), on the pool's workers and the calling thread; returns when every chunk has
// run. The first exception a chunk throws is rethrown here (the other chunks still finish). Safe to
// call from several threads at once and from inside fn (the caller always works on its own loop,
// so nesting cannot deadlock).
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& fn);

// Threads a loop may use: the pool's workers plus the caller (>= 1).
int parallel_threads();

// Sizes the pool (`threads` - 1 workers; 1 runs every loop on the caller). Call at start-up, before
// loops run: the old pool is joined when the last loop using it returns.
void set_parallel_threads(int threads);

}  // namespace cutout::core
