// The sequencer's split-marker row in a ledger (engine/sequencer/sequencer.h, "Split
// commits"), for tests that check a split commit left none behind.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "ledger/ledger.h"

namespace fxsettle::test {

// The marker row under the default key (SequencerOptions::split_marker_key, "n/split"),
// or nullopt when none is set; a failed read fails the test and counts as none.
inline std::optional<std::string> split_marker(ledger::Ledger& ledger) {
    auto view = ledger.read();
    EXPECT_TRUE(view.has_value()) << view.error().to_string();
    if (!view)
        return std::nullopt;
    auto marker = (*view)->aux_get(ledger::AuxTable::kOutbox, "n/split");
    EXPECT_TRUE(marker.has_value()) << marker.error().to_string();
    return marker.value_or(std::nullopt);
}

}  // namespace fxsettle::test
