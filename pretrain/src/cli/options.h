#pragma once
// Shared option handling: parse, print --help, report unknown options by name.
#include <boost/program_options.hpp>
#include <iostream>
#include <string>
#include <vector>

namespace ept {
struct ModelConfig;
struct TrainConfig;
}

namespace ept::cli {

namespace po = boost::program_options;

/// Parses `args`; returns false (after printing help) when --help was given. Throws ept::InputError naming the
/// option for unknown or malformed options.
/// The model-size options shared by every command that creates a model (--hidden, --ffn, ...).
void add_model_options(po::options_description& options, ModelConfig& config);

/// The schedule options `ept pretrain` and `ept finetune` share (--steps, --lr, ..., --dtype, --seed, --threads),
/// with `c`'s values as defaults; `dtype` and `threads` receive the text and count for finish_training_options.
void add_training_options(po::options_description& options, TrainConfig& c, std::string& dtype, int& threads);
/// Checks --dtype and --threads, sets c.dtype and LibTorch's thread count.
void finish_training_options(TrainConfig& c, const std::string& dtype, int threads);

bool parse_options(const std::string& usage, po::options_description& options, const std::vector<std::string>& args,
                   po::variables_map& vm);

}  // namespace ept::cli
