#include "tools/run_record.hpp"

#include <csignal>

namespace lsekit::cli {

std::atomic<bool> g_interrupted{false};

namespace {
extern "C" void on_signal(int) { g_interrupted.store(true); }
}  // namespace

void install_signal_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

}  // namespace lsekit::cli
