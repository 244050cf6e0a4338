// Anomaly trigger top: da4ml pipelined core + synchronous reset + valid tracking.
// Generated from trigger/templates/rtl/trigger_top.v; ports are described in ports.json.
// Latency: {{LATENCY}} clocks at {{CLOCK_NS}} ns; a new event every clock (II = 1).
`timescale 1 ns / 1 ps

module {{TOP}} (
    input clk,
    input rst,                       // synchronous, active high: clears the valid pipeline
    input valid_in,
    input [{{IN_W}}-1:0] words,      // raw L1 words, packed as in ports.json
    output valid_out,
    output [{{MU_W}}-1:0] mu,
    output [{{SCORE_W}}-1:0] score,
    output [{{N_RATES}}-1:0] trigger_bits  // low whenever valid_out is low
);
    wire [{{OUT_W}}-1:0] core_out;

    {{CORE}} core (
        .clk(clk),
        .model_inp(words),
        .model_out(core_out)
    );

    // valid travels beside the data, one flop per pipeline register of the core
    reg [{{LATENCY}}-1:0] valid_pipe;
    always @(posedge clk) begin
        if (rst) valid_pipe <= {{{LATENCY}}{1'b0}};
        else valid_pipe <= {valid_pipe[{{LATENCY}}-2:0], valid_in};
    end
    assign valid_out = valid_pipe[{{LATENCY}}-1];

    assign mu = core_out[{{SCORE_LSB}}-1:{{MU_LSB}}];
    assign score = core_out[{{BITS_LSB}}-1:{{SCORE_LSB}}];
    assign trigger_bits = core_out[{{OUT_W}}-1:{{BITS_LSB}}] & {{{N_RATES}}{valid_out}};
endmodule
