// bench_train: training throughput of a muse-nano-sized model on this machine, as tokens/s and as a
// share of the machine's fp32 GEMM peak measured the same way (same pool, same GEMM backend).
//
//   bench_train [--threads N] [--batch B] [--seq T] [--steps S] [--no-gemm]
//   MUSE_TRAIN_GEMM=avx2 bench_train      # force a GEMM backend (openblas | avx2 | scalar)
//
// 1. GEMM: sgemm_parallel on 1024^3 and on the model's own shapes, for every available backend.
//    The best 1024^3 figure of the backend in use is "peak".
// 2. Training step (forward + backward + clip + AdamW) on random tokens, all positions in the loss:
//    tokens/s = B*T / step time; GFLOP/s counts the GEMM work actually executed (matmuls in both
//    directions, and attention's q k^T, p v and their gradients over the causal row blocks).
//    Norms, RoPE, softmax and the optimizer are not counted: the gap to peak is their cost plus the
//    GEMMs' own inefficiency at these shapes.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "train/adamw.h"
#include "train/gemm.h"
#include "train/layers.h"
#include "train/model.h"
#include "train/rng.h"

using namespace muse;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// User + system CPU seconds of this process: CPU / wall says how many cores we actually got (on a
// shared machine, fewer than the threads we asked for, and every figure here shrinks with it).
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

// Best GFLOP/s over 3 rounds of >= 0.2 s each: C (M,N) = op(A) op(B). *cores: CPU/wall of that round.
double gemm_gflops(core::ThreadPool& pool, train::GemmBackend be, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                   double* cores = nullptr) {
  train::Rng rng(1);
  std::vector<float> A(static_cast<size_t>(M * K)), B(static_cast<size_t>(K * N)), C(static_cast<size_t>(M * N));
  for (float& x : A) x = static_cast<float>(rng.normal());
  for (float& x : B) x = static_cast<float>(rng.normal());
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  double best = 0.0;
  for (int round = 0; round < 3; round++) {
    int64_t reps = 0;
    const auto t0 = Clock::now();
    const double c0 = cpu_seconds();
    double el = 0.0;
    do {
      train::sgemm_parallel(pool, ta, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, C.data(), N, be);
      reps++;
      el = seconds_since(t0);
    } while (el < 0.2);
    const double g = 2.0 * static_cast<double>(M * N * K) * static_cast<double>(reps) / el / 1e9;
    if (g > best) {
      best = g;
      if (cores) *cores = (cpu_seconds() - c0) / el;
    }
  }
  return best;
}

// GEMM FLOPs executed by one forward + backward (see the header comment).
double step_gemm_flops(const train::ModelConfig& c, int64_t B, int64_t T) {
  const double BT = static_cast<double>(B * T), C = static_cast<double>(c.dim), F = static_cast<double>(c.ffn_dim);
  const double QD = static_cast<double>(c.q_dim()), KD = static_cast<double>(c.kv_dim());
  const double per_layer_matmul = 2.0 * BT * (C * QD + 2.0 * C * KD + QD * C + 3.0 * C * F);
  // Per head, query-row block [r0, r1) multiplies against keys [0, r1): q k^T and p v, 2 flops each.
  double attn_rows_x_keys = 0.0;
  for (int64_t r0 = 0; r0 < T; r0 += train::kAttentionRowBlock) {
    const int64_t r1 = std::min(T, r0 + train::kAttentionRowBlock);
    attn_rows_x_keys += static_cast<double>((r1 - r0) * r1);
  }
  const double per_layer_attn =
      2.0 * 2.0 * static_cast<double>(B * c.n_heads) * attn_rows_x_keys * static_cast<double>(c.head_dim());
  const double classifier = 2.0 * BT * C * static_cast<double>(c.vocab);
  const double fwd = static_cast<double>(c.n_layers) * (per_layer_matmul + per_layer_attn) + classifier;
  return 3.0 * fwd;  // backward: two GEMMs per forward GEMM (input and weight gradients)
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0;
  int64_t batch = 8, seq = 256, steps = 5;
  bool gemm_section = true;  // --no-gemm: only the training step (for profiling it), no peak ratio
  for (int i = 1; i < argc; i++) {
    auto next = [&](const char* flag) -> long long {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_train: %s needs a value\n", flag);
        std::exit(2);
      }
      return std::atoll(argv[++i]);
    };
    if (!std::strcmp(argv[i], "--threads")) {
      threads = static_cast<int>(next("--threads"));
    } else if (!std::strcmp(argv[i], "--batch")) {
      batch = next("--batch");
    } else if (!std::strcmp(argv[i], "--seq")) {
      seq = next("--seq");
    } else if (!std::strcmp(argv[i], "--steps")) {
      steps = next("--steps");
    } else if (!std::strcmp(argv[i], "--no-gemm")) {
      gemm_section = false;
    } else {
      std::fprintf(stderr, "usage: bench_train [--threads N] [--batch B] [--seq T] [--steps S] [--no-gemm]\n");
      return 2;
    }
  }
  if (batch < 1 || seq < 2 || steps < 1) {
    std::fprintf(stderr, "bench_train: --batch, --seq and --steps must be positive (seq >= 2)\n");
    return 2;
  }
  core::ThreadPool pool(threads);
  train::ModelConfig cfg;  // muse-nano defaults: dim 256, 6 layers, 8/4 heads, ffn 768, vocab 128
  cfg.max_seq = std::max<int64_t>(cfg.max_seq, seq);
  const int64_t BT = batch * seq;
  std::printf("bench_train: %d threads, GEMM backend in use: %s\n", pool.size(), train::gemm_backend_name());

  // 1. GEMM
  std::printf("\nfp32 GEMM, GFLOP/s (best of 3), sgemm_parallel over the pool\n");
  std::printf("%-34s", "shape (M x N x K, op)");
  std::vector<train::GemmBackend> backends;
  for (auto be : {train::GemmBackend::kAvx2, train::GemmBackend::kOpenBlas}) {
    if (train::gemm_backend_available(be)) {
      backends.push_back(be);
      std::printf("%10s", train::gemm_backend_name(be));
    }
  }
  std::printf("\n");
  struct Shape {
    const char* what;
    bool ta, tb;
    int64_t M, N, K;
  };
  const Shape shapes[] = {
      {"1024^3 NN (peak)", false, false, 1024, 1024, 1024},
      {"ffn_up fwd  BT x F x C  NT", false, true, BT, cfg.ffn_dim, cfg.dim},
      {"ffn_down bwd dinp BT x F x C NN", false, false, BT, cfg.ffn_dim, cfg.dim},
      {"ffn_up bwd dW  F x C x BT  TN", true, false, cfg.ffn_dim, cfg.dim, BT},
      {"attn q k^T  T x T x HS  NT", false, true, seq, seq, cfg.head_dim()},
  };
  double peak = 0.0, peak_cores = 0.0;
  for (const Shape& s : shapes) {
    if (!gemm_section) break;
    std::printf("%-34s", s.what);
    for (auto be : backends) {
      // Attention's per-head GEMMs run one per worker, so time them serially (a pool of one).
      core::ThreadPool single(1);
      core::ThreadPool& p = std::strstr(s.what, "attn") ? single : pool;
      double cores = 0.0;
      const double g = gemm_gflops(p, be, s.ta, s.tb, s.M, s.N, s.K, &cores);
      std::printf("%10.1f", g);
      if (&s == &shapes[0] && std::strcmp(train::gemm_backend_name(be), train::gemm_backend_name()) == 0) {
        peak = g;
        peak_cores = cores;
      }
    }
    std::printf("\n");
  }
  std::printf("(attention row: one thread; the step runs one such GEMM per worker)\n");

  // 2. Training step
  train::Model model(cfg);
  model.init_weights(1);
  train::Workspace ws(cfg, batch, seq);
  train::AdamW opt(train::AdamWConfig{}, model.n_params());
  train::Rng rng(2);
  train::Batch b;
  b.B = batch;
  b.T = seq;
  for (int64_t i = 0; i < BT; i++) {
    b.inputs.push_back(static_cast<int32_t>(rng.below(static_cast<uint64_t>(cfg.vocab))));
    b.targets.push_back(static_cast<int32_t>(rng.below(static_cast<uint64_t>(cfg.vocab))));
    b.mask.push_back(1);
  }
  double t_fwd = 0, t_bwd = 0, t_opt = 0, cpu_start = 0;
  for (int64_t s = 0; s <= steps; s++) {  // step 0 warms caches and page-faults the workspace
    if (s == 1) cpu_start = cpu_seconds();
    auto t0 = Clock::now();
    train::forward(pool, model, ws, b);
    const double f = seconds_since(t0);
    t0 = Clock::now();
    model.zero_grad();
    train::backward(pool, model, ws);
    const double bw = seconds_since(t0);
    t0 = Clock::now();
    train::clip_grad_norm(model.grads(), 1.0f);
    opt.step(pool, model, 1e-4f);
    const double o = seconds_since(t0);
    if (s > 0) t_fwd += f, t_bwd += bw, t_opt += o;
  }
  const double cpu_used = cpu_seconds() - cpu_start;
  const double per_step = (t_fwd + t_bwd + t_opt) / static_cast<double>(steps);
  const double gflops = step_gemm_flops(cfg, batch, seq) / per_step / 1e9;
  std::printf("\ntraining step: dim %lld, %lld layers, %lld/%lld heads, ffn %lld, vocab %lld, %.2fM params, batch %lld x seq %lld\n",
              static_cast<long long>(cfg.dim), static_cast<long long>(cfg.n_layers), static_cast<long long>(cfg.n_heads),
              static_cast<long long>(cfg.n_kv_heads), static_cast<long long>(cfg.ffn_dim),
              static_cast<long long>(cfg.vocab), static_cast<double>(model.n_params()) / 1e6,
              static_cast<long long>(batch), static_cast<long long>(seq));
  std::printf("  per step: %.1f ms = forward %.1f + backward %.1f + clip/AdamW %.1f (mean of %lld steps)\n",
              per_step * 1e3, t_fwd / steps * 1e3, t_bwd / steps * 1e3, t_opt / steps * 1e3,
              static_cast<long long>(steps));
  const double step_cores = cpu_used / (per_step * static_cast<double>(steps));
  std::printf("  throughput: %.0f tokens/s, using %.2f cores on average (CPU time / wall time; %d threads)\n",
              static_cast<double>(BT) / per_step, step_cores, pool.size());
  std::printf("  GEMM work: %.2f GFLOP/step -> %.1f GFLOP/s", step_gemm_flops(cfg, batch, seq) / 1e9, gflops);
  if (gemm_section) {
    std::printf(" = %.0f%% of this machine's %s GEMM peak (%.1f GFLOP/s)", 100.0 * gflops / peak,
                train::gemm_backend_name(), peak);
  }
  std::printf("\n");
  if (gemm_section && peak_cores > 0.0 && step_cores > 0.0) {
    // On a machine shared with other jobs both runs get a fraction of the cores; per core actually
    // used, the ratio no longer depends on how busy the machine was.
    std::printf("  per core used: step %.1f GFLOP/s vs GEMM peak %.1f GFLOP/s (%.2f cores) = %.0f%%\n",
                gflops / step_cores, peak / peak_cores, peak_cores, 100.0 * (gflops / step_cores) / (peak / peak_cores));
  }
  return 0;
}
