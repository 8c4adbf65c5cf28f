// A fixed set of worker threads behind a bounded queue. When the queue is
// full, submit() refuses at once instead of queueing without end (cpp-httplib
// 0.11.4's own pool queues without bound): the caller answers 503 and closes.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace leanpoint {

class WorkerPool {
 public:
  WorkerPool(std::string name, size_t workers, size_t queue_capacity);
  ~WorkerPool();  // shutdown()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `job`, or returns false if the queue is full or the pool stopped.
  // A refused job is destroyed at once, with whatever it owns.
  bool submit(std::function<void()> job);

  // Stops taking jobs, drops the queued ones (destroying what they own),
  // waits for running ones to finish, joins the workers.
  void shutdown();

  const std::string& name() const { return name_; }
  size_t workers() const { return threads_.size(); }
  size_t capacity() const { return capacity_; }
  size_t active() const { return active_.load(); }
  size_t queued() const;

 private:
  void work();

  std::string name_;
  size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::atomic<size_t> active_{0};
  std::vector<std::thread> threads_;
};

}  // namespace leanpoint
