// bench_kernels: decode (gemv) and prompt (gemm) speed of core::matmul on a TinyLlama-shaped weight
// set, as a ratio to the machine's measured DRAM read bandwidth (the decode roofline) and to the
// scalar path.
//
//   bench_kernels [--layers N] [--types q8_0,q4_0,...] [--passes P]
//   bench_kernels --tokens 2,8,64 [--types q8_0] [--reps R]
//   bench_kernels --attention 160,1024 [--reps R]
//
// The weight set is N (default 22) distinct copies of one layer (q, k, v, o: 2048x2048, 256x2048 x2,
// 2048x2048; gate, up: 5632x2048; down: 2048x5632) plus the 32000x2048 output matrix: ~0.6 GB in
// Q4_0, far beyond L3, so a decode pass streams every byte from DRAM as real decoding does. The
// bandwidth is measured right before each decode measurement with the same thread count, so each
// percentage compares two numbers taken seconds apart on the same machine.
//
// Sampling: the development machine is shared, so whole passes are rarely left alone. Decode speed
// is therefore one layer's bytes over the sum, for its 7 matrices, of each matrix's best time over
// all passes and layers (every sample cold in cache: 21 other layers ran in between; each sample
// includes its own dispatch to the pool and activation packing). The roofline is likewise the
// best 64 MiB stretch of the bandwidth probe (core/bandwidth.h): both are "speed while not
// preempted". The whole-pass speed is printed too.
//
// --tokens runs only the multi-token (GEMM) comparison instead: one thread, the three distinct
// TinyLlama shapes (2048x2048, 5632x2048, 2048x5632), each kernel variant of the type (the fast
// path, for Q8_0 and Q4_0 on AVX-512 also the previous row-streaming kernel, and the scalar path) driven by
// the same loop (pack the tokens, then the tile function over cache blocks of rows like matmul()),
// with the repetitions interleaved across variants so that every ratio compares runs taken under
// the same load. Reports the best time per shape as G multiply-adds/s and the ratios.
//
// --attention runs core::attend alone: one thread, one token's 32 query heads over 4 F16 KV heads of 64
// (TinyLlama's shape) at each given number of positions, on every available path. "hot": the same KV rows
// every call (in cache); "cold": calls rotate over 64 MiB of KV rows, so each call reads its rows from
// DRAM, as a decode step does after the weights have streamed through the caches. Repetitions interleave
// the paths; G multiply-adds/s (2 x heads x positions x 64 per call) from the best repetition.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/attention.h"
#include "core/bandwidth.h"
#include "core/cpu.h"
#include "core/error.h"
#include "core/matmul.h"
#include "core/matmul_internal.h"
#include "core/quant.h"

namespace {

using muse::core::AlignedBuffer;
using muse::core::DType;
using muse::core::KernelPath;
using muse::core::MatmulScratch;
using muse::core::ThreadPool;
using muse::core::WeightView;

struct Shape {
  const char* name;
  int64_t rows, k;
};
constexpr Shape kLayer[] = {{"q", 2048, 2048},    {"k", 256, 2048},     {"v", 256, 2048},   {"o", 2048, 2048},
                            {"gate", 5632, 2048}, {"up", 5632, 2048}, {"down", 2048, 5632}};
constexpr Shape kOutput = {"output", 32000, 2048};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// All matrices of the set in one buffer. Rows are copies of 64 distinct quantized random rows per
// width (quantizing a billion weights with the K-quant search would take minutes; the kernels'
// speed does not depend on the values).
struct WeightSet {
  AlignedBuffer buf;
  std::vector<WeightView> mats;  // layer by layer, output last
  size_t bytes = 0;
  size_t layer_bytes = 0;
};

WeightSet build_set(DType type, int layers) {
  std::vector<Shape> shapes;
  for (int l = 0; l < layers; ++l) shapes.insert(shapes.end(), std::begin(kLayer), std::end(kLayer));
  shapes.push_back(kOutput);
  WeightSet set;
  std::vector<size_t> offsets;
  for (const auto& s : shapes) {
    offsets.push_back(set.bytes);
    set.bytes += (muse::core::row_bytes(type, s.k) * static_cast<size_t>(s.rows) + 63) / 64 * 64;
  }
  for (const auto& s : kLayer) set.layer_bytes += muse::core::row_bytes(type, s.k) * static_cast<size_t>(s.rows);
  set.buf = AlignedBuffer(set.bytes);
  std::mt19937 rng(42);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  for (int64_t k : {int64_t{2048}, int64_t{5632}}) {
    const size_t rb = muse::core::row_bytes(type, k);
    std::vector<uint8_t> proto(rb * 64);
    std::vector<float> row(static_cast<size_t>(k));
    for (int i = 0; i < 64; ++i) {
      for (auto& v : row) v = dist(rng);
      muse::core::quantize_row(type, row.data(), proto.data() + rb * static_cast<size_t>(i), k);
    }
    for (size_t m = 0; m < shapes.size(); ++m) {
      if (shapes[m].k != k) continue;
      uint8_t* dst = set.buf.data() + offsets[m];
      for (int64_t r = 0; r < shapes[m].rows; ++r) std::memcpy(dst + rb * static_cast<size_t>(r), proto.data() + rb * static_cast<size_t>(r % 64), rb);
    }
  }
  for (size_t m = 0; m < shapes.size(); ++m) {
    set.mats.push_back(WeightView{type, shapes[m].rows, shapes[m].k, set.buf.data() + offsets[m]});
  }
  return set;
}

// Matrices [0, all_layers_end) are the layers; the output matrix follows them.
size_t all_layers_end(const WeightSet& set) { return set.mats.size() - 1; }

struct Timing {
  double pass_s = 1e30;   // best whole pass over [first, last)
  double layer_s = 1e30;  // best single layer (7 consecutive matrices)
  double shape_s[std::size(kLayer)] = {1e30, 1e30, 1e30, 1e30, 1e30, 1e30, 1e30};  // best per layer matrix
  double layer_from_shapes() const {
    double s = 0;
    for (double v : shape_s) s += v;
    return s;
  }
};

Timing best_of(const Timing& a, const Timing& b) {
  Timing t;
  t.pass_s = std::min(a.pass_s, b.pass_s);
  t.layer_s = std::min(a.layer_s, b.layer_s);
  for (size_t i = 0; i < std::size(t.shape_s); ++i) t.shape_s[i] = std::min(a.shape_s[i], b.shape_s[i]);
  return t;
}

// Runs every matrix in [first, last) once per pass with n_tokens tokens.
Timing time_pass(ThreadPool& pool, const WeightSet& set, size_t first, size_t last, int64_t n_tokens, KernelPath path,
                 int passes) {
  std::vector<float> x(static_cast<size_t>(5632 * n_tokens)), y(static_cast<size_t>(32000 * n_tokens));
  std::mt19937 rng(1);
  std::normal_distribution<float> dist;
  for (auto& v : x) v = dist(rng);
  MatmulScratch scratch;
  Timing best;
  constexpr size_t kPerLayer = std::size(kLayer);
  for (int p = 0; p < passes + 1; ++p) {  // pass 0 warms up (page tables, scratch)
    const double t0 = now_s();
    double tl = t0;
    for (size_t m = first; m < last; ++m) {
      const double tm = now_s();
      muse::core::matmul(pool, set.mats[m], x.data(), n_tokens, y.data(), scratch, path);
      if (p > 0 && m < all_layers_end(set)) {
        best.shape_s[m % kPerLayer] = std::min(best.shape_s[m % kPerLayer], now_s() - tm);
      }
      if ((m + 1) % kPerLayer == 0 && m + 1 - kPerLayer >= first) {
        const double t = now_s();
        if (p > 0) best.layer_s = std::min(best.layer_s, t - tl);
        tl = t;
      }
    }
    if (p > 0) best.pass_s = std::min(best.pass_s, now_s() - t0);
  }
  return best;
}

double flops_of(const WeightSet& set, size_t first, size_t last, int64_t n_tokens) {
  double f = 0;
  for (size_t m = first; m < last; ++m) f += 2.0 * static_cast<double>(set.mats[m].rows * set.mats[m].cols * n_tokens);
  return f;
}

// ---------------------------------------------------------------------------------------------
// --tokens: multi-token kernel variants side by side.

namespace detail = muse::core::detail;

struct GemmVariant {
  const char* name;
  detail::TileFn tile;
  bool chunks = false;  // runs on the weights repacked as at load (WeightLayout::kQ8_0Chunks)
};

// One matmul through `tile` on one thread, as matmul() runs it; returns seconds.
double time_gemm(ThreadPool& pool, const WeightView& w, const float* x, int64_t n, detail::TileFn tile,
                 const detail::KernelSet& ks, MatmulScratch& scratch, float* y) {
  const double t0 = now_s();
  detail::matmul_with_tile(pool, w, x, n, y, scratch, ks, tile);
  return now_s() - t0;
}

int run_gemm(const std::vector<DType>& types, const std::vector<int64_t>& token_counts, int reps) {
  const detail::KernelSet& fast = *detail::kernel_set(KernelPath::kAuto);
  const detail::KernelSet& scalar = *detail::kernel_set(KernelPath::kScalar);
  const bool avx512 = muse::core::kernel_path_available(KernelPath::kAvx512);
  ThreadPool pool(1);
  const Shape shapes[] = {{"2048x2048", 2048, 2048}, {"5632x2048", 5632, 2048}, {"2048x5632", 2048, 5632}};
  std::printf("kernel path: %s; one thread, best of %d interleaved repetitions per shape\n\n",
              muse::core::best_kernel_path_name(), reps);
  std::printf("%-5s %6s %-10s | %9s %9s %9s %9s | %8s\n", "type", "tokens", "variant", "2048x2048", "5632x2048",
              "2048x5632", "all 3", "1st/this");
  for (DType type : types) {
    std::vector<GemmVariant> variants = {{muse::core::best_kernel_path_name(), detail::tile_for(fast, type)}};
    if (avx512 && detail::test_avx512_rowwise(type) != nullptr) {
      variants.push_back({"rowwise", detail::test_avx512_rowwise(type)});
    }
    if (avx512 && type == DType::kQ8_0) variants.push_back({"prepacked", fast.q8_0_chunks, true});
    variants.push_back({"scalar", detail::tile_for(scalar, type)});
    if (variants[0].tile == nullptr) muse::fail(muse::ErrorCode::kInvalidArgument, "--tokens: no tile for this type");
    std::mt19937 rng(3);
    std::normal_distribution<float> dist(0.0f, 0.02f);
    std::vector<AlignedBuffer> bufs;
    std::vector<WeightView> mats;
    for (const auto& s : shapes) {
      const size_t rb = muse::core::row_bytes(type, s.k);
      bufs.emplace_back(rb * static_cast<size_t>(s.rows));
      std::vector<float> row(static_cast<size_t>(s.k));
      for (int64_t r = 0; r < s.rows; ++r) {
        for (auto& v : row) v = dist(rng);
        muse::core::quantize_row(type, row.data(), bufs.back().data() + rb * static_cast<size_t>(r), s.k);
      }
      mats.push_back(WeightView{type, s.rows, s.k, bufs.back().data()});
    }
    std::vector<WeightView> chunk_mats;  // the same weights repacked as Model::load does
    for (const WeightView& w : mats) {
      if (!muse::core::repack_pays(w)) break;
      bufs.emplace_back(w.row_stride() * static_cast<size_t>(w.rows));
      std::memcpy(bufs.back().data(), w.data, w.row_stride() * static_cast<size_t>(w.rows));
      chunk_mats.push_back(w);
      chunk_mats.back().data = bufs.back().data();
      muse::core::repack_weight(&chunk_mats.back(), bufs.back().data());
    }
    for (int64_t n : token_counts) {
      std::vector<float> x(static_cast<size_t>(5632 * n)), y(static_cast<size_t>(5632 * n));
      std::normal_distribution<float> xd;
      for (auto& v : x) v = xd(rng);
      MatmulScratch scratch;
      std::vector<std::vector<double>> best(variants.size(), std::vector<double>(std::size(shapes), 1e30));
      for (int rep = 0; rep < reps + 1; ++rep) {  // rep 0 warms up
        for (size_t v = 0; v < variants.size(); ++v) {
          for (size_t m = 0; m < mats.size(); ++m) {
            const WeightView& w = variants[v].chunks ? chunk_mats[m] : mats[m];
            const double s = time_gemm(pool, w, x.data(), n, variants[v].tile, fast, scratch, y.data());
            if (rep > 0) best[v][m] = std::min(best[v][m], s);
          }
        }
      }
      double first_total = 0;
      for (size_t v = 0; v < variants.size(); ++v) {
        double total_s = 0, total_mac = 0;
        std::printf("%-5s %6lld %-10s |", std::string(muse::core::dtype_name(type)).c_str(), static_cast<long long>(n),
                    variants[v].name);
        for (size_t m = 0; m < mats.size(); ++m) {
          const double mac = static_cast<double>(mats[m].rows * mats[m].cols * n);
          std::printf(" %9.1f", mac / best[v][m] / 1e9);
          total_s += best[v][m];
          total_mac += mac;
        }
        if (v == 0) first_total = total_s;
        std::printf(" %9.1f | %7.2fx\n", total_mac / total_s / 1e9, total_s / first_total);
        std::fflush(stdout);
      }
    }
  }
  std::printf(
      "\nG multiply-adds per second (best time per shape); 1st/this: how many times faster the first\n"
      "variant is than this one (all 3 shapes). rowwise: the AVX-512 Q8_0/Q4_0 row-streaming kernel\n"
      "that all multi-token matmuls used before the chunked one (now Q8_0 below 3, Q4_0 below 6 tokens).\n"
      "prepacked: Q8_0 weights repacked once, as Model::load does, read by the chunk micro-kernel.\n");
  return 0;
}

// --attention: core::attend per path, hot and cold (see the file comment).
int run_attention(const std::vector<int64_t>& positions, int reps) {
  constexpr int64_t kHeads = 32, kKv = 4, kDim = 64, kRow = kKv * kDim;
  const muse::core::AttendShape shape{kHeads, kKv, kDim};
  std::vector<KernelPath> paths;
  for (KernelPath p : {KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvx512}) {
    if (muse::core::kernel_path_available(p)) paths.push_back(p);
  }
  const char* names[] = {"auto", "scalar", "avx2", "avx512"};
  std::printf("one thread, %lld query heads over %lld F16 KV heads of %lld; G multiply-adds/s, best of %d\n\n",
              static_cast<long long>(kHeads), static_cast<long long>(kKv), static_cast<long long>(kDim), reps);
  std::printf("%9s %-7s", "positions", "path");
  std::printf(" | %9s %9s\n", "hot", "cold");
  std::mt19937 rng(5);
  std::normal_distribution<float> dist;
  for (int64_t n_pos : positions) {
    const size_t set_halves = static_cast<size_t>(2 * n_pos * kRow);
    const size_t sets = std::max<size_t>(2, (size_t{64} << 20) / (2 * set_halves));
    std::vector<uint16_t> kv(sets * set_halves);
    for (size_t i = 0; i < kv.size(); i += 7) kv[i] = muse::core::f32_to_f16(dist(rng));  // values do not matter
    std::vector<const void*> rows(2 * sets * static_cast<size_t>(n_pos));
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = &kv[i * kRow];
    std::vector<float> q(kHeads * kDim), out(q.size()), scores(static_cast<size_t>(kHeads * n_pos));
    for (float& x : q) x = dist(rng);
    // best[p][cold]: seconds per call
    std::vector<std::array<double, 2>> best(paths.size(), {1e30, 1e30});
    const int64_t calls = std::max<int64_t>(8, 4000000 / (kHeads * n_pos * kDim));
    for (int rep = 0; rep < reps; ++rep) {
      for (size_t p = 0; p < paths.size(); ++p) {
        for (int cold = 0; cold < 2; ++cold) {
          const double t0 = now_s();
          for (int64_t c = 0; c < calls; ++c) {
            const size_t set = cold ? static_cast<size_t>(c) % sets : 0;
            const void* const* k = &rows[2 * set * static_cast<size_t>(n_pos)];
            muse::core::attend(q.data(), shape, muse::core::KvRows{k, k + n_pos, true}, n_pos, 0.125f,
                               scores.data(), out.data(), paths[p]);
          }
          best[p][cold] = std::min(best[p][cold], (now_s() - t0) / static_cast<double>(calls));
        }
      }
    }
    const double mac = 2.0 * kHeads * static_cast<double>(n_pos) * kDim;
    for (size_t p = 0; p < paths.size(); ++p) {
      std::printf("%9lld %-7s | %9.1f %9.1f\n", static_cast<long long>(n_pos), names[static_cast<int>(paths[p])],
                  mac / best[p][0] / 1e9, mac / best[p][1] / 1e9);
    }
  }
  return 0;
}

int run(int argc, char** argv) {
  int layers = 22, passes = 10, reps = 5;
  std::vector<int64_t> token_counts, attention_positions;
  std::vector<DType> types = {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K, DType::kF16};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--layers" && i + 1 < argc) {
      layers = std::max(1, std::atoi(argv[++i]));
    } else if ((a == "--tokens" || a == "--attention") && i + 1 < argc) {
      std::vector<int64_t>& list = a == "--tokens" ? token_counts : attention_positions;
      for (const char* p = argv[++i]; *p != 0;) {
        char* end = nullptr;
        list.push_back(std::max<int64_t>(1, std::strtoll(p, &end, 10)));
        p = *end == ',' ? end + 1 : end;
        if (end == p && *p != 0) break;
      }
    } else if (a == "--reps" && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--passes" && i + 1 < argc) {
      passes = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--types" && i + 1 < argc) {
      types.clear();
      std::string list = argv[++i];
      size_t pos = 0;
      while (pos <= list.size()) {
        const size_t comma = std::min(list.find(',', pos), list.size());
        const auto t = muse::core::dtype_from_name(list.substr(pos, comma - pos));
        if (!t) muse::fail(muse::ErrorCode::kInvalidArgument, "--types: unknown type '{}'", list.substr(pos, comma - pos));
        types.push_back(*t);
        pos = comma + 1;
      }
    } else {
      std::fprintf(stderr,
                   "usage: bench_kernels [--layers N] [--types q8_0,q4_0,q4_K,q6_K,f16] [--passes P]\n"
                   "       bench_kernels --tokens 2,8,64 [--types q8_0] [--reps R]\n"
                   "       bench_kernels --attention 160,1024 [--reps R]\n");
      return 2;
    }
  }
  if (!attention_positions.empty()) return run_attention(attention_positions, reps);
  if (!token_counts.empty()) return run_gemm(types, token_counts, reps);
  std::printf("kernel path: %s (cpu: %s)\n", muse::core::best_kernel_path_name(),
              muse::core::cpu_features().to_string().c_str());
  std::printf("weight set: %d layers of TinyLlama-1.1B shapes + output (32000x2048)\n\n", layers);
  ThreadPool pool1(1), pool2(2);
  std::printf("%-5s %7s | %8s %8s %6s %8s | %8s %8s %6s %8s | %8s | %8s %8s\n", "type", "MB/tok", "BW1", "dec1",
              "%BW1", "pass1", "BW2", "dec2", "%BW2", "pass2", "x scalar", "pp64 1T", "pp64 2T");
  std::printf("%-5s %7s | %8s %8s %6s %8s | %8s %8s %6s %8s | %8s | %8s %8s\n", "", "", "GB/s", "GB/s", "", "GB/s",
              "GB/s", "GB/s", "", "GB/s", "(1T)", "GFLOP/s", "GFLOP/s");
  for (DType type : types) {
    // The weights as in the file and, where Model::load repacks them (Q8_0 on AVX-512), a second copy
    // repacked the same way ("q8_0 p"), timed in the same rounds.
    std::vector<WeightSet> sets;
    sets.push_back(build_set(type, layers));
    if (muse::core::repack_pays(sets[0].mats[0])) {
      sets.push_back(build_set(type, layers));
      for (WeightView& w : sets.back().mats) muse::core::repack_weight(&w, const_cast<void*>(w.data));
    }
    const size_t all = sets[0].mats.size();
    const double bytes = static_cast<double>(sets[0].bytes), lb = static_cast<double>(sets[0].layer_bytes);
    // Roofline and decode alternate over a few rounds (best of each kept), so both get the same
    // chances of running unpreempted.
    std::vector<double> bw1(sets.size(), 0.0), bw2(sets.size(), 0.0);
    std::vector<Timing> t1(sets.size()), t2(sets.size());
    for (int round = 0; round < 3; ++round) {
      for (size_t i = 0; i < sets.size(); ++i) {
        bw1[i] = std::max(bw1[i], muse::core::measure_read_bandwidth(pool1, size_t{512} << 20));
        t1[i] = best_of(t1[i], time_pass(pool1, sets[i], 0, all, 1, KernelPath::kAuto, passes));
        bw2[i] = std::max(bw2[i], muse::core::measure_read_bandwidth(pool2, size_t{512} << 20));
        t2[i] = best_of(t2[i], time_pass(pool2, sets[i], 0, all, 1, KernelPath::kAuto, passes));
      }
    }
    for (size_t i = 0; i < sets.size(); ++i) {
      const WeightSet& set = sets[i];
      // Scalar vs fast on the first two layers (beyond L3), 1 thread, best layer each.
      const size_t sub = std::min<size_t>(all - 1, 2 * std::size(kLayer));
      const Timing ts = time_pass(pool1, set, 0, sub, 1, KernelPath::kScalar, 1);
      const Timing tf = time_pass(pool1, set, 0, sub, 1, KernelPath::kAuto, passes);
      const Timing pp1 = time_pass(pool1, set, 0, std::size(kLayer), 64, KernelPath::kAuto, 4);
      const Timing pp2 = time_pass(pool2, set, 0, std::size(kLayer), 64, KernelPath::kAuto, 4);
      const double fl = flops_of(set, 0, std::size(kLayer), 64);
      const std::string name = std::string(muse::core::dtype_name(type)) + (i > 0 ? " p" : "");
      std::printf("%-5s %7.1f | %8.1f %8.1f %5.1f%% %8.1f | %8.1f %8.1f %5.1f%% %8.1f | %7.1fx | %8.1f %8.1f\n",
                  name.c_str(), bytes / 1e6, bw1[i] / 1e9, lb / t1[i].layer_from_shapes() / 1e9,
                  100.0 * lb / t1[i].layer_from_shapes() / bw1[i], bytes / t1[i].pass_s / 1e9, bw2[i] / 1e9,
                  lb / t2[i].layer_from_shapes() / 1e9, 100.0 * lb / t2[i].layer_from_shapes() / bw2[i],
                  bytes / t2[i].pass_s / 1e9, ts.layer_s / tf.layer_s, fl / pp1.layer_from_shapes() / 1e9,
                  fl / pp2.layer_from_shapes() / 1e9);
      std::fflush(stdout);
    }
  }
  std::printf("\nMB/tok: weight bytes read per decoded token; BWn: read roofline with n threads (best 64 MiB\n"
              "stretch); decn: decode gemv speed with n threads (best time per matrix shape over 3x%d passes);\n"
              "%%BWn = decn / BWn; passn: whole-pass decode speed (includes preemption on a shared machine);\n"
              "x scalar: decode speed vs the scalar path, 1 thread; pp64: prompt matmuls, 64 tokens, one layer\n"
              "(best time per matrix shape over 4 passes); \"q8_0 p\": the same Q8_0 weights repacked as\n"
              "Model::load does (WeightLayout::kQ8_0Chunks).\n",
              passes);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const muse::Error& e) {
    std::fprintf(stderr, "bench_kernels: error: %s\n", e.what());
    return 1;
  }
}
