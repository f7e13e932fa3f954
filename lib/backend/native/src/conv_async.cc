// The filter-gradient worker: one thread that runs jobs in the order given,
// off the calling (JavaScript) thread.
//
// At small sizes a training step runs its convolutions on one thread (two
// lose to the cost of waking the second, see conv.cc), so the second core
// idles through most of the backward pass. A filter gradient is needed only
// by the optimiser, at the end of the step, while the input gradient of the
// same layer is needed at once by the layer below: the worker computes the
// first while the calling thread goes on with the second.
//
// The worker blocks every signal for good (they belong to Node's main
// thread, and oneDNN 2.x's jit sgemm must not take one, see conv_dnnl.cc),
// runs OpenMP regions on one thread, and is never joined: it waits for work
// until the process exits.
//
// Seen from a JavaScript thread: while the worker has its work, that
// thread's OpenMP regions (the conv module's and the element-wise module's:
// one libgomp, one thread count per thread) run on one thread, leaving the
// other core to the worker; a convolution big enough for two threads first
// waits for it (async_drain).
#include <omp.h>
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <set>
#include <thread>

#include "conv_engines.h"
#include "ew_kernels.h"

namespace {

struct Job {
  std::function<bool(double*)> run;
  int64_t id;
  bool shared;  // a waiting thread may run it itself (async_submit_lowered)
};

struct Worker {
  std::mutex m;
  std::condition_variable work, finished;
  std::deque<Job> jobs;
  // What each job reported (its output's sum of squares, say), by id modulo
  // the ring's size; a slot names its job, so a stale one is told apart.
  static constexpr int64_t kRing = 4096;
  std::pair<int64_t, double> results[kRing] = {};
  int64_t submitted = 0;
  // Every job up to `completed` ran; a shared job a waiting thread took from
  // the middle of the queue can finish before the ones ahead of it
  // (finished_ahead), and counts once they have.
  int64_t completed = 0;
  std::set<int64_t> finished_ahead;
  bool failed = false;
  double busy_s = 0;  // time spent running jobs (profiling: test/bench/profile-step.ts)
  int64_t helped = 0;  // shared jobs run by waiting threads

  // Runs a job taken off the queue, on the calling thread; `lock` is held
  // on entry and exit, not while the job runs.
  void run(Job& job, std::unique_lock<std::mutex>& lock, bool timed) {
    lock.unlock();
    bool ok = false;
    double result = std::numeric_limits<double>::quiet_NaN();
    const auto t0 = std::chrono::steady_clock::now();
    try {
      ok = job.run(&result);
    } catch (...) {
      ok = false;
    }
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
    lock.lock();
    if (timed) busy_s += took.count();
    results[job.id % kRing] = {job.id, result};
    if (job.id == completed + 1) {
      completed++;
      for (auto next = finished_ahead.begin(); next != finished_ahead.end() && *next == completed + 1; next = finished_ahead.erase(next)) completed++;
    } else {
      finished_ahead.insert(job.id);
    }
    if (!ok) failed = true;
  }

  void loop() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    omp_set_num_threads(1);
    std::unique_lock<std::mutex> lock(m);
    for (;;) {
      work.wait(lock, [this] { return !jobs.empty(); });
      Job job = std::move(jobs.front());
      jobs.pop_front();
      // A job that is not shared may read what any job ahead wrote: those a
      // waiting thread took from the queue must be done.
      if (!job.shared) finished.wait(lock, [&] { return completed >= job.id - 1; });
      run(job, lock, true);
      finished.notify_all();
    }
  }
};

// Made on first use and never destroyed (a static destructor at exit would
// pull the mutex from under the waiting worker).
Worker& worker() {
  static Worker* w = [] {
    Worker* made = new Worker();
    // Born with every signal blocked (a thread inherits its creator's mask),
    // so none lands on it before loop() blocks them for good.
    sigset_t all, before;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &before);
    std::thread([made] { made->loop(); }).detach();
    pthread_sigmask(SIG_SETMASK, &before, nullptr);
    return made;
  }();
  return *w;
}

}  // namespace

namespace {
int64_t submit(std::function<bool(double*)> job, bool shared) {
  Worker& w = worker();
  int64_t id;
  {
    std::lock_guard<std::mutex> lock(w.m);
    id = ++w.submitted;
    w.jobs.push_back({std::move(job), id, shared});
  }
  w.work.notify_one();
  return id;
}
}  // namespace

int64_t async_submit(std::function<bool(double*)> job) { return submit(std::move(job), false); }

// While job `id` has not run, the waiting thread runs shared jobs up to it
// itself, the last one queued first (the worker takes them from the front),
// instead of sleeping: Adam's updates of the tensors the next forward pass
// needs, say, split between the two threads, and none of them waits for the
// worker to wake (~0.1-0.3 ms under KVM).
bool async_wait(int64_t id) {
  Worker& w = worker();
  std::unique_lock<std::mutex> lock(w.m);
  while (w.completed < id) {
    auto it = w.jobs.end();
    for (auto r = w.jobs.rbegin(); r != w.jobs.rend(); ++r)
      if (r->id <= id && r->shared) {
        it = std::prev(r.base());
        break;
      }
    if (it == w.jobs.end()) {
      w.finished.wait(lock);
      continue;
    }
    Job job = std::move(*it);
    w.jobs.erase(it);
    w.helped++;
    w.run(job, lock, false);
    w.finished.notify_all();
  }
  return !w.failed;
}

bool async_result(int64_t id, double* value) {
  Worker& w = worker();
  std::lock_guard<std::mutex> lock(w.m);
  const auto& slot = w.results[id % Worker::kRing];
  if (id > w.completed || slot.first != id) return false;
  *value = slot.second;
  return true;
}

double async_busy_seconds() {
  Worker& w = worker();
  std::lock_guard<std::mutex> lock(w.m);
  return w.busy_s;
}

int64_t async_helped() {
  Worker& w = worker();
  std::lock_guard<std::mutex> lock(w.m);
  return w.helped;
}

int64_t async_backlog() {
  Worker& w = worker();
  std::lock_guard<std::mutex> lock(w.m);
  return int64_t(w.jobs.size());
}

bool async_idle() {
  Worker& w = worker();
  std::lock_guard<std::mutex> lock(w.m);
  return w.completed == w.submitted;
}

namespace {
// Per JavaScript thread (a worker_threads Worker has its own thread counts).
thread_local int lowered_from = 0;  // its thread count before the worker got work; 0: not lowered
thread_local int64_t last_job = 0;
}  // namespace

double sum_of_squares(const float* x, int64_t n) { return ew::sum_squares_f32(&x, &n, 1); }

int64_t async_submit_lowered(std::function<bool(double*)> job, bool shared) {
  if (lowered_from == 0) {
    lowered_from = omp_get_max_threads();
    omp_set_num_threads(1);
  }
  last_job = submit(std::move(job), shared);
  return last_job;
}

int64_t async_last_submitted() { return last_job; }

void async_settle() {
  if (lowered_from > 0 && async_idle()) {
    omp_set_num_threads(lowered_from);
    lowered_from = 0;
  }
}

bool async_drain() {
  if (lowered_from == 0) return true;
  const bool ok = async_wait(last_job);
  async_settle();
  return ok;
}
