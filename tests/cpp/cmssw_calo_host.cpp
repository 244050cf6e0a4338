// A stand-in for CMSSW's calorimeter Layer-1 summary (as it runs CICADA): loads a plug-in, hands it each row of
// 252 region words as ap_uint<10>*, and reads the score through a pointer to the score's type, SCORE_T (given at
// compile time, as CMSSW's module is instantiated with it). Writes the score in LSBs (SCORE_FRAC) as int64 per row.
// usage: cmssw_calo_host LIB.so WORDS.bin N OUT.bin
#include <dlfcn.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "ap_fixed.h"
#include "hls4ml/emulator.h"

int main(int argc, char **argv) {
    if (argc != 5) { std::fprintf(stderr, "usage: %s LIB WORDS N OUT\n", argv[0]); return 2; }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
    if (!lib) { std::fprintf(stderr, "dlopen %s: %s\n", argv[1], dlerror()); return 1; }
    auto create = (hls4mlEmulator::Model * (*)()) dlsym(lib, "create_model");
    auto destroy = (void (*)(hls4mlEmulator::Model *))dlsym(lib, "destroy_model");
    hls4mlEmulator::Model *model = create();
    long n = std::stol(argv[3]);
    std::vector<int64_t> words(n * 252);
    std::ifstream(argv[2], std::ios::binary).read((char *)words.data(), words.size() * sizeof(int64_t));
    std::ofstream out(argv[4], std::ios::binary);
    ap_uint<10> in[252];
    for (long e = 0; e < n; e++) {
        for (int i = 0; i < 252; i++) in[i] = words[e * 252 + i];
        int64_t raw;
        try {
            model->prepare_input(in);
            model->predict();
            SCORE_T score;
            model->read_result(&score);
            raw = (int64_t)(score.to_double() * (double)(1LL << SCORE_FRAC));
        } catch (const std::out_of_range &exc) {
            std::fprintf(stderr, "row %ld: %s\n", e, exc.what());
            return 3;
        }
        out.write((const char *)&raw, sizeof raw);
    }
    destroy(model);
    return 0;
}
