// The machine's fp32 FMA peak, the yardstick for matmul efficiency: every thread runs twelve
// independent chains of 512-bit fused multiply-adds (enough to cover the FMA latency on two
// ports), so nothing but FMA throughput limits it. Prints one JSON line like the TS benches.
//   gcc -O2 -mavx512f -mfma -pthread bench/fma-peak.c -o /tmp/fma-peak && /tmp/fma-peak [threads] [iters]
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long iters = 50000000;

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void* chains(void* arg) {
  // Distinct starting values keep the compiler from merging the chains.
  float base = *(float*)arg;
  __m512 acc[12];
  for (int i = 0; i < 12; i++) acc[i] = _mm512_set1_ps(base + 0.01f * (float)(i + 1));
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (long n = 0; n < iters; n++) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) acc[i] = _mm512_fmadd_ps(acc[i], m, c);
  }
  __m512 sum = acc[0];
  for (int i = 1; i < 12; i++) sum = _mm512_add_ps(sum, acc[i]);
  *(float*)arg = _mm512_reduce_add_ps(sum);
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  if (argc > 2) iters = atol(argv[2]);
  if (threads < 1 || threads > 256 || iters < 1) {
    fprintf(stderr, "usage: fma-peak [threads 1..256] [iterations >= 1]\n");
    return 2;
  }
  pthread_t* th = malloc(sizeof(pthread_t) * threads);
  float* sink = malloc(sizeof(float) * threads);
  double best = 0;
  for (int rep = 0; rep < 5; rep++) {
    for (int i = 0; i < threads; i++) sink[i] = 1.0f + (float)argc * 0.0f;
    double t = seconds();
    for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, chains, &sink[i]);
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
    double gflops = (double)threads * iters * 12 * 16 * 2 / (seconds() - t) / 1e9;
    if (gflops > best) best = gflops;
  }
  printf("{\"bench\":\"matmul\",\"case\":\"fp32 FMA peak, %d threads (best of 5)\",\"side\":\"c\",\"value\":%.1f,\"unit\":\"GFLOP/s\",\"sink\":%g}\n", threads, best, sink[0]);
  free(th);
  free(sink);
  return 0;
}
