// The sanitizer interface functions dbgalloc exports, called as a tool (libFuzzer)
// calls them: this binary links the whole static library, so dbgalloc is its malloc.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include <gtest/gtest.h>

extern "C" {
int __sanitizer_install_malloc_and_free_hooks(void (*)(const volatile void*, size_t), void (*)(const volatile void*));
int __sanitizer_get_ownership(const volatile void* p);
size_t __sanitizer_get_allocated_size(const volatile void* p);
size_t __sanitizer_get_current_allocated_bytes();
size_t __sanitizer_get_heap_size();
size_t __sanitizer_get_estimated_allocated_size(size_t size);
void __sanitizer_print_stack_trace();
void __sanitizer_set_death_callback(void (*callback)());
int __sanitizer_acquire_crash_state();
void __sanitizer_purge_allocator();
void __sanitizer_print_memory_profile(size_t top_percent, size_t max_contexts);
void __sanitizer_set_report_fd(void* fd);
void __sanitizer_symbolize_pc(void* pc, const char* format, char* out, size_t out_size);
}

namespace {

// What the hooks saw; the hooks themselves allocate (as libFuzzer's print), which must
// neither recurse into them nor deadlock.
struct Seen {
  const volatile void* last_malloc = nullptr;
  size_t last_size = 0;
  const volatile void* last_free = nullptr;
  int mallocs = 0;
  int frees = 0;
} seen;
bool hooks_allocate = false;
void* volatile sink;  // keeps the compiler from eliding malloc/free pairs

void malloc_hook(const volatile void* p, size_t size) {
  seen.last_malloc = p;
  seen.last_size = size;
  ++seen.mallocs;
  if (hooks_allocate) free(malloc(7));
}
void free_hook(const volatile void* p) {
  seen.last_free = p;
  ++seen.frees;
  if (hooks_allocate) free(malloc(9));
}

class HooksInstalled : public ::testing::Test {
 protected:
  void SetUp() override {
    seen = Seen();
    ASSERT_EQ(__sanitizer_install_malloc_and_free_hooks(malloc_hook, free_hook), 1);
  }
  void TearDown() override {
    __sanitizer_install_malloc_and_free_hooks(nullptr, nullptr);
    hooks_allocate = false;
  }
};

// The captured output of `run` sent to the report descriptor.
template <typename Run>
std::string report_output(Run run) {
  char path[] = "/tmp/dbgalloc-sanitizer-test-XXXXXX";
  int fd = mkstemp(path);
  unlink(path);
  __sanitizer_set_report_fd(reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
  run();
  __sanitizer_set_report_fd(reinterpret_cast<void*>(static_cast<intptr_t>(2)));
  std::string text;
  char buffer[4096];
  lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<size_t>(n));
  close(fd);
  return text;
}

__attribute__((noinline)) void print_my_stack() {
  __sanitizer_print_stack_trace();
  asm volatile("");
}

TEST_F(HooksInstalled, malloc_and_free_reach_the_hooks_with_pointer_and_size) {
  void* p = malloc(24);
  EXPECT_EQ(seen.last_malloc, p);
  EXPECT_EQ(seen.last_size, 24u);
  free(p);
  EXPECT_EQ(seen.last_free, p);
  EXPECT_EQ(seen.mallocs, 1);
  EXPECT_EQ(seen.frees, 1);
  free(nullptr);
  EXPECT_EQ(seen.frees, 1) << "free(NULL) is not a deallocation";
}

TEST_F(HooksInstalled, every_allocation_function_reaches_the_malloc_hook) {
  void* p = calloc(3, 5);
  EXPECT_EQ(seen.last_malloc, p);
  EXPECT_EQ(seen.last_size, 15u);
  void* q = realloc(p, 100);  // a free of p, then a malloc of q
  EXPECT_EQ(seen.last_free, p);
  EXPECT_EQ(seen.last_malloc, q);
  EXPECT_EQ(seen.last_size, 100u);
  free(q);
  void* a = aligned_alloc(64, 128);
  EXPECT_EQ(seen.last_malloc, a);
  free(a);
  void* m = nullptr;
  ASSERT_EQ(posix_memalign(&m, 256, 40), 0);
  EXPECT_EQ(seen.last_malloc, m);
  EXPECT_EQ(seen.last_size, 40u);
  free(m);
  int* n = new int[10];
  EXPECT_EQ(seen.last_malloc, n);
  EXPECT_EQ(seen.last_size, 40u);
  delete[] n;
  EXPECT_EQ(seen.last_free, n);
  auto* o = new (std::align_val_t{128}) double;
  EXPECT_EQ(seen.last_malloc, o);
  ::operator delete(o, std::align_val_t{128});
  EXPECT_EQ(seen.last_free, o);
  EXPECT_EQ(seen.mallocs, 6);
  EXPECT_EQ(seen.frees, 6);
}

TEST_F(HooksInstalled, a_hook_that_allocates_does_not_recurse_or_deadlock) {
  hooks_allocate = true;
  sink = malloc(33);
  free(sink);
  EXPECT_EQ(seen.mallocs, 1);
  EXPECT_EQ(seen.frees, 1);
}

TEST(SanitizerApi, ownership_and_size_of_live_blocks_only) {
  char* p = static_cast<char*>(malloc(13));
  int local = 0;
  EXPECT_EQ(__sanitizer_get_ownership(p), 1);
  EXPECT_EQ(__sanitizer_get_allocated_size(p), 13u);
  EXPECT_EQ(__sanitizer_get_ownership(p + 1), 0) << "not a block start";
  EXPECT_EQ(__sanitizer_get_ownership(&local), 0);
  EXPECT_EQ(__sanitizer_get_allocated_size(&local), 0u);
  free(p);
  EXPECT_EQ(__sanitizer_get_ownership(p), 0) << "freed";
  EXPECT_EQ(__sanitizer_get_allocated_size(p), 0u);
  EXPECT_EQ(__sanitizer_get_estimated_allocated_size(100), 100u);
}

TEST(SanitizerApi, allocated_bytes_follow_a_large_block) {
  size_t before = __sanitizer_get_current_allocated_bytes();
  void* p = malloc(4 << 20);
  sink = p;
  EXPECT_GE(__sanitizer_get_current_allocated_bytes(), before + (4 << 20));
  EXPECT_GE(__sanitizer_get_heap_size(), size_t{4} << 20);
  free(p);
  __sanitizer_purge_allocator();
  EXPECT_LT(__sanitizer_get_current_allocated_bytes(), before + (4 << 20)) << "purged from the quarantine";
}

TEST(SanitizerApi, print_stack_trace_prints_the_caller) {
  std::string out = report_output([] { print_my_stack(); });
  EXPECT_NE(out.find("#0 0x"), std::string::npos) << out;
  EXPECT_NE(out.find("print_my_stack"), std::string::npos) << out;
  EXPECT_NE(out.find("sanitizer_api_test.cpp:"), std::string::npos) << out;
}

TEST(SanitizerApi, memory_profile_groups_live_blocks_by_allocation_site) {
  void* blocks[4];
  for (void*& b : blocks) b = malloc(1000);
  std::string out = report_output([] { __sanitizer_print_memory_profile(100, 10); });
  EXPECT_NE(out.find("Live Heap Allocations: "), std::string::npos) << out;
  EXPECT_NE(out.find("4000 byte(s)"), std::string::npos) << out;
  EXPECT_NE(out.find("in 4 allocation(s)"), std::string::npos) << out;
  for (void* b : blocks) free(b);
}

TEST(SanitizerApi, symbolize_pc_formats_function_and_line) {
  char out[512];
  auto pc = reinterpret_cast<void*>(&print_my_stack);
  __sanitizer_symbolize_pc(pc, "%p %F %L", out, sizeof out);
  std::string text(out);
  EXPECT_NE(text.find("0x"), std::string::npos) << text;
  EXPECT_NE(text.find(" in (anonymous namespace)::print_my_stack()"), std::string::npos) << text;
  EXPECT_NE(text.find("sanitizer_api_test.cpp:"), std::string::npos) << text;
  char small[8];
  __sanitizer_symbolize_pc(pc, "%p %F %L", small, sizeof small);
  EXPECT_EQ(std::strlen(small), 7u) << "truncated, terminated";
}

TEST(SanitizerApi, crash_state_is_taken_once) {
  EXPECT_EQ(__sanitizer_acquire_crash_state(), 1);
  EXPECT_EQ(__sanitizer_acquire_crash_state(), 0);
}

void death_callback() {
  const char message[] = "death callback ran\n";
  write(2, message, sizeof message - 1);
}

TEST(SanitizerApi, a_report_runs_the_death_callback_then_exits) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int fd = open("/tmp/dbgalloc-death-callback.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    __sanitizer_set_death_callback(death_callback);
    sink = malloc(8);
    static_cast<volatile char*>(sink)[8] = 1;  // the canary; reported by the free
    free(sink);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 23);
  FILE* f = fopen("/tmp/dbgalloc-death-callback.txt", "r");
  ASSERT_NE(f, nullptr);
  std::string text;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, f)) > 0;) text.append(buffer, n);
  fclose(f);
  unlink("/tmp/dbgalloc-death-callback.txt");
  size_t report = text.find("ERROR: dbgalloc: heap-buffer-overflow");
  size_t callback = text.find("death callback ran");
  EXPECT_NE(report, std::string::npos) << text;
  EXPECT_NE(callback, std::string::npos) << text;
  EXPECT_LT(report, callback) << "the callback runs after the report";
  EXPECT_NE(text.find("DEDUP_TOKEN: heap-buffer-overflow--"), std::string::npos) << text;
}

}  // namespace
