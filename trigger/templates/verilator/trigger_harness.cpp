// Verilator harness of the emitted Verilog, reset/valid wrapper included: one event per clock with
// valid_in high, outputs collected on every clock where valid_out is high. Used by `trigger compare`.
// Generated from trigger/templates/verilator/trigger_harness.cpp; do not edit by hand.
//   usage: trigger_harness IN.bin OUT.bin N
//   IN.bin: N x {{IN_CHUNKS}} uint32 (the packed words port, least significant chunk first)
//   OUT.bin: N x ({{MU_CHUNKS}} + {{SCORE_CHUNKS}} + {{BITS_CHUNKS}}) uint32 (mu, score, trigger_bits ports)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "{{MODEL}}.h"
#include "verilated.h"

template <typename T> static void put(T &port, const uint32_t *c, int n) {
    uint64_t v = c[0];
    if (n > 1) v |= (uint64_t)c[1] << 32;
    port = (T)v;
}
template <std::size_t N> static void put(VlWide<N> &port, const uint32_t *c, int) {
    for (std::size_t i = 0; i < N; i++) port[i] = c[i];
}
template <typename T> static void get(const T &port, uint32_t *c, int n) {
    uint64_t v = (uint64_t)port;
    c[0] = (uint32_t)v;
    if (n > 1) c[1] = (uint32_t)(v >> 32);
}
template <std::size_t N> static void get(const VlWide<N> &port, uint32_t *c, int) {
    for (std::size_t i = 0; i < N; i++) c[i] = port[i];
}

int main(int argc, char **argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s IN.bin OUT.bin N\n", argv[0]);
        return 2;
    }
    const long n = std::atol(argv[3]);
    const int IN = {{IN_CHUNKS}}, MU = {{MU_CHUNKS}}, SC = {{SCORE_CHUNKS}}, BI = {{BITS_CHUNKS}}, OUT = MU + SC + BI;
    std::vector<uint32_t> in((size_t)n * IN), out((size_t)n * OUT, 0);
    FILE *f = std::fopen(argv[1], "rb");
    if (!f || std::fread(in.data(), 4, in.size(), f) != in.size()) {
        std::fprintf(stderr, "cannot read %ld events from %s\n", n, argv[1]);
        return 2;
    }
    std::fclose(f);
    VerilatedContext ctx;
    {{MODEL}} top(&ctx);
    auto tick = [&]() {
        top.clk = 0;
        top.eval();
        top.clk = 1;
        top.eval();
    };
    top.valid_in = 0;
    top.rst = 1;
    tick();
    tick();
    top.rst = 0;
    long sent = 0, got = 0, idle = 0;
    while (got < n && idle < {{LATENCY}} + 8) {
        if (sent < n) {
            put(top.words, &in[(size_t)sent * IN], IN);
            top.valid_in = 1;
            sent++;
        } else {
            top.valid_in = 0;
            idle++;
        }
        tick();
        if (top.valid_out) {  // after the edge: the output of an event presented {{LATENCY}} edges ago
            uint32_t *o = &out[(size_t)got * OUT];
            get(top.mu, o, MU);
            get(top.score, o + MU, SC);
            get(top.trigger_bits, o + MU + SC, BI);
            got++;
        }
    }
    top.final();
    if (got != n) {
        std::fprintf(stderr, "%ld events sent, %ld came out with valid_out\n", n, got);
        return 1;
    }
    f = std::fopen(argv[2], "wb");
    if (!f || std::fwrite(out.data(), 4, out.size(), f) != out.size()) return 2;
    std::fclose(f);
    return 0;
}
