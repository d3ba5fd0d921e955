#pragma once
// Shared option handling: parse, print --help, report unknown options by name.
#include <boost/program_options.hpp>
#include <iostream>
#include <string>
#include <vector>

namespace ept {
struct ModelConfig;
}

namespace ept::cli {

namespace po = boost::program_options;

/// Parses `args`; returns false (after printing help) when --help was given. Throws ept::InputError naming the
/// option for unknown or malformed options.
/// The model-size options shared by every command that creates a model (--hidden, --ffn, ...).
void add_model_options(po::options_description& options, ModelConfig& config);

bool parse_options(const std::string& usage, po::options_description& options, const std::vector<std::string>& args,
                   po::variables_map& vm);

}  // namespace ept::cli
