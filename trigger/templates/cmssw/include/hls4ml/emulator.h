// Stand-in for hls4mlEmulatorExtras' hls4ml/emulator.h, written from the interface CMSSW declares (namespace
// hls4mlEmulator, class Model). It lets this package build and be tested without CMS software; with CMS's
// package installed, `make EMULATOR_EXTRAS=/path/to/hls4mlEmulatorExtras` uses its header and library instead.
#ifndef TRIGGER_STANDIN_HLS4ML_EMULATOR_H_
#define TRIGGER_STANDIN_HLS4ML_EMULATOR_H_

#include <any>

namespace hls4mlEmulator {
class Model {
  public:
    virtual void prepare_input(std::any input) = 0;
    virtual void predict() = 0;
    virtual void read_result(std::any result) = 0;
    virtual ~Model() = default;
};
}  // namespace hls4mlEmulator

#endif
