// fxsettle-demo: the engine stage of the settlement demo. See demo.h.
#include <iostream>

#include "tools/demo/demo.h"

int main(int argc, char** argv) {
    return fxsettle::demo::run(argc, argv, std::cout, std::cerr);
}
