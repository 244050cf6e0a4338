# Out-of-context timing of the trigger RTL in Vivado: the real number behind `trigger`'s depth ESTIMATE.
# Generated from trigger/templates/rtl/timing_ooc.tcl. Needs Vivado (not run by this repository):
#   vivado -mode batch -source timing_ooc.tcl
# Writes timing_ooc_summary.rpt (worst negative slack: WNS >= 0 means the {{CLOCK_NS}} ns clock is met) and utilization.
set part {{PART}}
create_project -in_memory -part $part
foreach f { {{SOURCES}} } { read_verilog $f }
synth_design -top {{TOP}} -part $part -mode out_of_context
create_clock -name clk -period {{CLOCK_NS}} [get_ports clk]
set_input_delay 0 -clock clk [get_ports -filter {DIRECTION == IN && NAME != clk}]
set_output_delay 0 -clock clk [get_ports -filter {DIRECTION == OUT}]
opt_design
place_design
route_design
report_timing_summary -file timing_ooc_summary.rpt
report_utilization -file timing_ooc_utilization.rpt
