// pool.h: bounded queue, refusal when full, jobs dropped on shutdown.
#include "pool.h"

#include <future>
#include <memory>

#include "testing.h"

using leanpoint::WorkerPool;

TEST_CASE("jobs run on the workers") {
  WorkerPool pool("t", 2, 4);
  std::promise<int> a, b;
  CHECK(pool.submit([&] { a.set_value(1); }));
  CHECK(pool.submit([&] { b.set_value(2); }));
  CHECK(a.get_future().get() + b.get_future().get() == 3);
}

TEST_CASE("a full queue refuses at once; a refused job is destroyed") {
  WorkerPool pool("t", 1, 2);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> started;
  CHECK(pool.submit([&, gate] {
    started.set_value();
    gate.wait();
  }));
  started.get_future().wait();  // the only worker is now busy
  CHECK(pool.active() == 1);
  CHECK(pool.submit([gate] { gate.wait(); }));
  CHECK(pool.submit([gate] { gate.wait(); }));
  CHECK(pool.queued() == 2);
  auto owned = std::make_shared<int>(7);
  std::weak_ptr<int> watch = owned;
  CHECK_FALSE(pool.submit([owned = std::move(owned)] {}));
  CHECK(watch.expired());  // what the refused job owned is gone
  release.set_value();
}

TEST_CASE("shutdown drops queued jobs, finishes running ones, and joins") {
  auto pool = std::make_unique<WorkerPool>("t", 1, 8);
  std::promise<void> release, started;
  std::atomic<bool> finished{false};
  std::shared_future<void> gate = release.get_future().share();
  pool->submit([&, gate] {
    started.set_value();
    gate.wait();
    finished = true;
  });
  started.get_future().wait();
  // The queued job owns something whose destruction is observable.
  struct Notify {
    std::promise<void> destroyed;
    ~Notify() { destroyed.set_value(); }
  };
  auto owned = std::make_shared<Notify>();
  auto dropped = owned->destroyed.get_future();
  std::atomic<bool> ran{false};
  pool->submit([owned = std::move(owned), &ran] { ran = true; });
  std::thread stopper([&] { pool->shutdown(); });
  // shutdown drops the queued job before it joins the running one.
  CHECK(dropped.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  release.set_value();
  stopper.join();
  CHECK(finished);
  CHECK_FALSE(ran);
  CHECK_FALSE(pool->submit([] {}));
}
