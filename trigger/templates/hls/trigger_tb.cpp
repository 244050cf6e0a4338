// Vendor C/RTL co-simulation testbench: reads tb_data/tb_input_words.dat (one event of raw words per line; the
// file `trigger emulate --vectors` writes, whose '#' header line is skipped and whose text after the words is ignored)
// and writes tb_data/tb_output.dat (mu raw values, score raw value, trigger bits).
// Generated from trigger/templates/hls/trigger_tb.cpp; `trigger emulate --vectors` writes matching vectors.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "trigger_top.h"

int main() {
    std::ifstream fin("tb_data/tb_input_words.dat");
    std::ofstream fout("tb_data/tb_output.dat");
    if (!fin.is_open()) {
        std::cerr << "tb_data/tb_input_words.dat not found: run `trigger emulate --vectors` first" << std::endl;
        return 1;
    }
    std::string line;
    while (std::getline(fin, line)) {
        if (line.empty() || line[0] == '#') continue;  // the vectors' header line is no event
        std::istringstream ss(line);
        word_t w[TRIGGER_N_INPUTS];
        for (int i = 0; i < TRIGGER_N_INPUTS; i++) {
            long long v;
            ss >> v;
            w[i] = v;
        }
        trigger_mu_t mu[TRIGGER_N_LATENT];
        trigger_score_t score[1];
        ap_uint<1> bits[TRIGGER_N_THRESHOLDS];
        trigger_top(w, mu, score, bits);
        for (int j = 0; j < TRIGGER_N_LATENT; j++) fout << mu[j].range().to_string(10) << " ";
        fout << score[0].range().to_string(10);
        for (int r = 0; r < TRIGGER_N_THRESHOLDS; r++) fout << " " << bits[r];
        fout << "\n";
    }
    return 0;
}
