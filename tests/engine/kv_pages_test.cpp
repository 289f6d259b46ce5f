// The paged KV cache: mapping, copy-on-write, reference counts and release, checked by counting pages
// and by reading rows back.
#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "model/kv_cache.h"

namespace muse::model {
namespace {

KvOptions kv(KvType type, int64_t page_size, int64_t n_pages = 0) {
  KvOptions o;
  o.type = type;
  o.page_size = page_size;
  o.n_pages = n_pages;
  return o;
}

HParams tiny_hparams() {
  HParams hp;
  hp.n_layer = 2;
  hp.n_embd = 16;
  hp.n_head = 2;
  hp.n_head_kv = 1;
  hp.head_dim = 8;
  return hp;
}

void write_row(KvCache& c, int64_t seq, int64_t pos, float v) {
  for (int64_t l = 0; l < 2; ++l) {
    auto* k = static_cast<float*>(c.k_row(l, seq, pos));
    auto* vv = static_cast<float*>(c.v_row(l, seq, pos));
    for (int64_t i = 0; i < c.row_dim(); ++i) k[i] = vv[i] = v + static_cast<float>(l);
  }
}

float read_row(const KvCache& c, int64_t seq, int64_t pos, int64_t layer = 1) {
  return static_cast<const float*>(c.v_row(layer, seq, pos))[0] - static_cast<float>(layer);
}

TEST(KvPages, DefaultPoolFitsEverySlotAndStartsEmpty) {
  KvCache c(tiny_hparams(), 100, 3, kv(KvType::kF32, 16));
  EXPECT_EQ(c.n_pages(), 3 * 7);  // ceil(100 / 16) = 7 pages per slot
  EXPECT_EQ(c.pages_in_use(), 0);
  EXPECT_EQ(c.page_bytes(), 2u * 2 * 16 * 8 * 4);  // K and V, 2 layers, 16 positions, row_dim 8, f32
  c.prepare(0, 0, 33);
  EXPECT_EQ(c.pages_in_use(), 3);
  EXPECT_EQ(c.pages_mapped(0), 3);
  EXPECT_EQ(c.page_of(0, 48), -1);
}

TEST(KvPages, ForkSharesPagesAndCopiesOnlyTheWrittenSharedPage) {
  KvCache c(tiny_hparams(), 128, 4, kv(KvType::kF32, 16));
  c.prepare(0, 0, 40);  // positions 0..39: pages 0, 1 full, page 2 partly filled
  for (int64_t p = 0; p < 40; ++p) write_row(c, 0, p, static_cast<float>(p));
  ASSERT_EQ(c.pages_in_use(), 3);

  for (int64_t s = 1; s < 4; ++s) c.fork(0, s, 40);
  EXPECT_EQ(c.pages_in_use(), 3) << "forks map the parent's pages, they do not copy them";
  for (int64_t s = 1; s < 4; ++s) {
    for (int64_t p : {0, 17, 39}) {
      EXPECT_EQ(c.page_of(s, p), c.page_of(0, p));
      EXPECT_EQ(read_row(c, s, p), static_cast<float>(p));
    }
  }
  EXPECT_EQ(c.page_refs(c.page_of(0, 0)), 4);

  // Each child writes position 40, inside the shared partial page 2: it gets a private copy.
  for (int64_t s = 1; s < 4; ++s) {
    EXPECT_EQ(c.pages_needed(s, 40, 41), 1);
    c.prepare(s, 40, 41);
    write_row(c, s, 40, 1000.0f + static_cast<float>(s));
  }
  EXPECT_EQ(c.pages_in_use(), 3 + 3);
  for (int64_t s = 1; s < 4; ++s) {
    EXPECT_NE(c.page_of(s, 40), c.page_of(0, 39));
    EXPECT_EQ(c.page_of(s, 0), c.page_of(0, 0)) << "full prefix pages stay shared";
    EXPECT_EQ(read_row(c, s, 39), 39.0f) << "the copy keeps the shared rows";
    EXPECT_EQ(read_row(c, s, 40), 1000.0f + static_cast<float>(s));
  }
  // The parent's own page 2 is now private to it again: writing needs no new page.
  EXPECT_EQ(c.pages_needed(0, 40, 41), 0);

  // Releasing the children returns their private pages; shared ones stay for the parent.
  for (int64_t s = 1; s < 4; ++s) c.release(s);
  EXPECT_EQ(c.pages_in_use(), 3);
  EXPECT_EQ(c.page_refs(c.page_of(0, 0)), 1);
  c.release(0);
  EXPECT_EQ(c.pages_in_use(), 0);
}

TEST(KvPages, TruncateKeepsThePartialPage) {
  KvCache c(tiny_hparams(), 64, 1, kv(KvType::kF16, 8));
  c.prepare(0, 0, 30);
  EXPECT_EQ(c.pages_in_use(), 4);
  c.truncate(0, 9);  // positions 0..8 need pages 0 and 1
  EXPECT_EQ(c.pages_in_use(), 2);
  EXPECT_EQ(c.page_of(0, 16), -1);
}

TEST(KvPages, RunningOutOfPagesIsAnErrorNamingTheCache) {
  KvCache c(tiny_hparams(), 64, 2, kv(KvType::kF32, 16, 3));
  c.prepare(0, 0, 48);
  try {
    c.prepare(1, 0, 1);
    FAIL() << "expected kOutOfRange";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kOutOfRange);
    EXPECT_NE(std::string(e.what()).find("all 3 pages"), std::string::npos) << e.what();
  }
}

TEST(KvPages, BadOptionsAreRejected) {
  EXPECT_THROW(KvCache(tiny_hparams(), 64, 1, kv(KvType::kF16, 12)), Error);
  EXPECT_THROW(KvCache(tiny_hparams(), 0, 1), Error);
  EXPECT_THROW(KvCache(tiny_hparams(), 64, 1, kv(KvType::kF16, 16, -1)), Error);
}

}  // namespace
}  // namespace muse::model
