// A stand-in for CMSSW's Global Trigger emulator: loads several emulator plug-ins into one process (dlopen with
// RTLD_GLOBAL, the harsher choice: a symbol one library exported would bind the next one's), then feeds each its
// word rows the way CMSSW's AXOL1TL condition does and writes, per row, int64s: loss x 16, the result pair's
// first member in LSBs of its type, and each threshold's decision (loss x 16 >= threshold).
// usage: cmssw_host (LIB.so mu|score WORDS.bin N THRESHOLDS.txt OUT.bin)...
#include <dlfcn.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "ap_fixed.h"
#include "hls4ml/emulator.h"

typedef ap_fixed<18, 13> input_t;
typedef ap_ufixed<18, 14> loss_t;
typedef std::array<ap_fixed<10, 7, AP_RND_CONV, AP_SAT>, 8> mu_t;
typedef ap_fixed<18, 14, AP_RND_CONV, AP_SAT> score_t;

struct Plugin {
    void *lib;
    hls4mlEmulator::Model *model;
    void (*destroy)(hls4mlEmulator::Model *);
};

static Plugin load(const char *path) {
    void *lib = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!lib) { std::fprintf(stderr, "dlopen %s: %s\n", path, dlerror()); std::exit(1); }
    auto create = (hls4mlEmulator::Model * (*)()) dlsym(lib, "create_model");
    auto destroy = (void (*)(hls4mlEmulator::Model *))dlsym(lib, "destroy_model");
    if (!create || !destroy) { std::fprintf(stderr, "%s: no create_model/destroy_model\n", path); std::exit(1); }
    return {lib, create(), destroy};
}

static void emit(std::vector<int64_t> &row, const mu_t &first) {
    for (auto &m : first) row.push_back((int64_t)(m.to_double() * 8));
}

static void emit(std::vector<int64_t> &row, const score_t &first) { row.push_back((int64_t)(first.to_double() * 16)); }

int main(int argc, char **argv) {
    if (argc < 2 || (argc - 1) % 6 != 0) { std::fprintf(stderr, "usage: %s (LIB mu|score WORDS N THRESHOLDS OUT)...\n", argv[0]); return 2; }
    int n_lib = (argc - 1) / 6;
    std::vector<Plugin> libs;
    for (int k = 0; k < n_lib; k++) libs.push_back(load(argv[1 + 6 * k]));  // all loaded before any runs
    for (int k = 0; k < n_lib; k++) {
        char **a = argv + 1 + 6 * k;
        bool mu = std::string(a[1]) == "mu";
        long n = std::stol(a[3]);
        std::vector<int64_t> words(n * 57);
        std::ifstream(a[2], std::ios::binary).read((char *)words.data(), words.size() * sizeof(int64_t));
        std::vector<long long> thr;
        std::ifstream tf(a[4]);
        std::string name;
        long long t;
        while (tf >> name >> t) thr.push_back(t);
        std::ofstream out(a[5], std::ios::binary);
        input_t in[57];
        for (long e = 0; e < n; e++) {
            for (int i = 0; i < 57; i++) {
                int64_t w = words[e * 57 + i];
                in[i] = (i % 3 == 0) ? input_t(w / 2) : input_t(w);  // CMSSW: pT = hardware pT / 2, an integer
            }
            libs[k].model->prepare_input(in);
            libs[k].model->predict();
            std::vector<int64_t> row;
            if (mu) {
                std::pair<mu_t, loss_t> r;
                libs[k].model->read_result(&r);
                row.push_back((int64_t)(r.second.to_double() * 16));
                emit(row, r.first);
            } else {
                std::pair<score_t, loss_t> r;
                libs[k].model->read_result(&r);
                row.push_back((int64_t)(r.second.to_double() * 16));
                emit(row, r.first);
            }
            double loss16 = (double)row[0];
            for (long long th : thr) row.push_back(loss16 >= (double)th ? 1 : 0);
            out.write((const char *)row.data(), row.size() * sizeof(int64_t));
        }
    }
    for (auto &p : libs) p.destroy(p.model);
    return 0;
}
