// Compiles the precompiled header of tests/CMakeLists.txt (fxsettle_test_pch); no code.
