// fxledger: the finance team's tool on the ledger file. See cli.h.
#include <iostream>

#include "tools/fxledger/cli.h"

int main(int argc, char** argv) {
    return fxsettle::fxledger::run(argc, argv, std::cout, std::cerr);
}
