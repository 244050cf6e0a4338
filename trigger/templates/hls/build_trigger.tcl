# Vitis HLS / Vivado HLS build of the full trigger (scaling + encoder + score + thresholds).
# Generated from trigger/templates/hls/build_trigger.tcl. Needs the vendor tools:
#   vitis_hls -f build_trigger.tcl      (or: vivado_hls -f build_trigger.tcl)
# Steps run: C simulation, C synthesis, C/RTL co-simulation, IP export.
open_project -reset trigger_prj
set_top trigger_top
add_files trigger_top.cpp -cflags "-std=c++14 -Ifirmware -Ifirmware/ap_types -I."
add_files firmware/{{PROJECT}}.cpp -cflags "-std=c++14 -Ifirmware -Ifirmware/ap_types"
add_files -tb trigger_tb.cpp -cflags "-std=c++14 -Ifirmware -Ifirmware/ap_types -I."
add_files -tb tb_data
open_solution -reset "solution1"
set_part {{{PART}}}
create_clock -period {{CLOCK_NS}} -name default
config_compile -pipeline_style frp
csim_design
csynth_design
cosim_design -trace_level none
export_design -format ip_catalog
exit
