// fxsettled: the settlement daemon. A thin main over tools/fxsettled/daemon.h.
#include "tools/fxsettled/daemon.h"

int main(int argc, char** argv) {
    return fxsettle::daemon::run(argc, argv);
}
