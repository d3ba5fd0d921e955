#pragma once
// Subcommands of the `ept` command line. Each parses its own options (Boost.Program_options) and returns an
// exit status.
#include <string>
#include <vector>

namespace ept::cli {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);
};

int init_model(const std::vector<std::string>& args);
int evaluate(const std::vector<std::string>& args);
int info(const std::vector<std::string>& args);
int describe(const std::vector<std::string>& args);
int prepare(const std::vector<std::string>& args);
int pretrain(const std::vector<std::string>& args);
int validate(const std::vector<std::string>& args);
int label(const std::vector<std::string>& args);
int finetune(const std::vector<std::string>& args);
int import_data(const std::vector<std::string>& args);

}  // namespace ept::cli
