// The block header and canaries on their own (as scudo's chunk_test): packing, the
// keyed checksum's seal and what breaks it, canary bytes, the fill check.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "debug/block.hpp"

namespace {

namespace debug = dbgalloc::debug;
using debug::BlockHeader;
using debug::State;

// Headers at a fixed address with a fixed secret: a 16-bit checksum misses one change
// in 65536, so with ASLR a test of many changes could fail once in a while; here it
// either always passes or never does.
constexpr std::uintptr_t kFixedAddress = 0x3a5a00000000;
constexpr std::uint64_t kSecret = 0x5eed5eed12345679ull;

class BlockHeaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    void* p = mmap(reinterpret_cast<void*>(kFixedAddress), 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != reinterpret_cast<void*>(kFixedAddress)) GTEST_SKIP() << "the fixed test address is taken";
    page_ = static_cast<unsigned char*>(p);
    debug::init_secret(kSecret);
  }
  void TearDown() override {
    if (page_ != nullptr) munmap(page_, 4096);
  }
  BlockHeader* header_at(std::size_t offset) { return reinterpret_cast<BlockHeader*>(page_ + offset); }
  BlockHeader* sealed_live_header() {
    BlockHeader* h = header_at(64);
    *h = BlockHeader{};
    h->bits = BlockHeader::pack(13, debug::Kind::new_array, 4, BlockHeader::kGuardFlag);
    h->alloc_stack = 0x1234;
    h->alloc_thread = 77;
    debug::transition(h, State::live, 42);
    return h;
  }
  unsigned char* page_ = nullptr;
};

TEST_F(BlockHeaderTest, packs_and_unpacks_every_field) {
  BlockHeader h{};
  h.bits = BlockHeader::pack(BlockHeader::kMaxSize, debug::Kind::new_scalar, 12, BlockHeader::kAlignedNewFlag);
  h.set_right_canary(300);
  EXPECT_EQ(h.size(), BlockHeader::kMaxSize);
  EXPECT_EQ(h.kind(), debug::Kind::new_scalar);
  EXPECT_EQ(h.alignment(), 4096u);
  EXPECT_TRUE(h.has(BlockHeader::kAlignedNewFlag));
  EXPECT_FALSE(h.has(BlockHeader::kGuardFlag));
  EXPECT_EQ(h.right_canary(), 300u);
  h.set_right_canary(100000);  // clamped
  EXPECT_EQ(h.right_canary(), BlockHeader::kMaxRightCanary);
  EXPECT_EQ(h.size(), BlockHeader::kMaxSize) << "the right canary's bits are its own";
}

TEST_F(BlockHeaderTest, a_sealed_header_keeps_its_state_and_sequence) {
  BlockHeader* h = sealed_live_header();
  EXPECT_TRUE(debug::sealed(h));
  EXPECT_TRUE(h->well_formed());
  EXPECT_EQ(h->state(), State::live);
  EXPECT_EQ(h->sequence(), 42u);
  debug::transition(h, State::quarantined);
  EXPECT_TRUE(debug::sealed(h));
  EXPECT_EQ(h->state(), State::quarantined);
  EXPECT_EQ(h->sequence(), 42u);
}

TEST_F(BlockHeaderTest, any_flipped_bit_of_a_covered_field_breaks_the_seal) {
  BlockHeader* h = sealed_live_header();
  const BlockHeader good = *h;
  // size, kind, alignment, flags (the canary bits too), alloc stack and thread, sequence, state.
  for (int bit = 0; bit < 64; ++bit) {
    *h = good;
    h->bits ^= std::uint64_t{1} << bit;
    EXPECT_FALSE(debug::sealed(h)) << "bits, bit " << bit;
  }
  for (int bit = 0; bit < 32; ++bit) {
    *h = good;
    h->alloc_stack ^= 1u << bit;
    EXPECT_FALSE(debug::sealed(h)) << "alloc_stack, bit " << bit;
    *h = good;
    h->alloc_thread ^= 1u << bit;
    EXPECT_FALSE(debug::sealed(h)) << "alloc_thread, bit " << bit;
  }
  for (int bit = 0; bit < 40; ++bit) {
    *h = good;
    h->tail ^= std::uint64_t{1} << bit;  // sequence, state
    EXPECT_FALSE(debug::sealed(h)) << "tail, bit " << bit;
  }
}

TEST_F(BlockHeaderTest, free_fields_are_covered_once_the_block_is_freed) {
  BlockHeader* h = sealed_live_header();
  h->free_stack = 99;  // written while live, before the transition that covers it
  h->free_thread = 5;
  EXPECT_TRUE(debug::sealed(h));
  debug::transition(h, State::quarantined);
  ASSERT_TRUE(debug::sealed(h));
  h->free_stack = 100;
  EXPECT_FALSE(debug::sealed(h));
}

TEST_F(BlockHeaderTest, marks_are_outside_the_seal) {
  BlockHeader* h = sealed_live_header();
  h->add_mark(BlockHeader::kMarkIgnoredForLeaks);
  EXPECT_TRUE(debug::sealed(h));
  EXPECT_EQ(h->marks(), BlockHeader::kMarkIgnoredForLeaks);
  debug::transition(h, State::quarantined);
  EXPECT_EQ(h->marks(), BlockHeader::kMarkIgnoredForLeaks) << "a transition keeps the marks";
}

TEST_F(BlockHeaderTest, a_copied_header_or_another_secret_does_not_pass) {
  BlockHeader* h = sealed_live_header();
  BlockHeader* copy = header_at(512);
  std::memcpy(copy, h, sizeof *h);
  EXPECT_FALSE(debug::sealed(copy)) << "the checksum is keyed by the header's address";
  debug::init_secret(kSecret ^ 0x100);
  EXPECT_FALSE(debug::sealed(h)) << "the checksum is keyed by the process secret";
  debug::init_secret(kSecret);
  EXPECT_TRUE(debug::sealed(h));
}

TEST_F(BlockHeaderTest, fill_bytes_and_zeros_are_not_well_formed) {
  for (unsigned char byte : {0x00, 0xbe, 0xfd, 0x41}) {
    BlockHeader* h = header_at(1024);
    std::memset(h, byte, sizeof *h);
    EXPECT_FALSE(h->well_formed()) << "byte " << int{byte};
  }
}

TEST(Canaries, bytes_are_never_zero_nor_ascii_and_depend_on_the_block) {
  dbgalloc::debug::init_secret(kSecret);
  int differ = 0;
  for (std::uintptr_t user = 0x10000; user < 0x10000 + 64 * 16; user += 16) {
    for (std::uintptr_t a = user - 16; a < user; ++a) {
      std::uint8_t b = debug::canary_byte(user, a);
      EXPECT_GE(b, 0x80) << std::hex << user << " " << a;
      EXPECT_LE(b, 0xfe);
    }
    differ += debug::canary_byte(user, user - 1) != debug::canary_byte(user + 16, user + 15);
  }
  EXPECT_GT(differ, 32) << "blocks get different canaries";
}

TEST(Canaries, the_first_changed_byte_is_found_at_any_offset) {
  std::vector<unsigned char> bytes(96);
  auto begin = reinterpret_cast<std::uintptr_t>(bytes.data());
  std::uintptr_t user = begin + 16;
  for (std::size_t start = 0; start < 8; ++start) {
    std::uintptr_t from = begin + start, to = begin + 90;
    debug::fill_canary(user, from, to);
    EXPECT_EQ(debug::first_bad_canary(user, from, to), 0u);
    for (std::uintptr_t hit = from; hit < to; hit += 7) {
      debug::fill_canary(user, from, to);
      *reinterpret_cast<unsigned char*>(hit) ^= 1;
      EXPECT_EQ(debug::first_bad_canary(user, from, to), hit) << start << " " << hit - from;
    }
  }
}

TEST(FillCheck, the_first_byte_that_is_not_the_fill_is_found) {
  std::vector<unsigned char> bytes(300, 0xfd);
  auto begin = reinterpret_cast<std::uintptr_t>(bytes.data());
  EXPECT_EQ(debug::first_not_filled(begin + 3, begin + 299, 0xfd), 0u);
  for (std::size_t at : {3u, 8u, 70u, 200u, 298u}) {
    bytes[at] = 0;
    EXPECT_EQ(debug::first_not_filled(begin + 3, begin + 299, 0xfd), begin + at);
    bytes[at] = 0xfd;
  }
}

TEST(Layout, the_user_prefix_holds_header_and_left_canary_and_keeps_alignment) {
  EXPECT_EQ(debug::kPrefix, 48u);
  EXPECT_EQ(debug::prefix_for(16), 48u);
  EXPECT_EQ(debug::prefix_for(64), 64u);
  EXPECT_EQ(debug::prefix_for(4096), 4096u);
  std::uintptr_t user = 0x7000;
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(debug::header_before(user)), user - 48);
}

}  // namespace
