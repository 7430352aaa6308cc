// The engine's events: the `Event` variant the sequencer writes to the outbox, one row
// per event, and releases after the batch's ledger commit (engine_concept.h).
//
// The intake's events are declared in event_types.h; settlement's events (cycle
// obligations, payment orders, hedge orders, cycle figures, ...) in settlement.h, which
// may include event_types.h and commands.h but not this header. The variant lists the
// intake's events first; settlement's are appended, so adding one never renumbers an
// existing alternative (the codec writes the alternative's index; see codec.h).
#pragma once

#include <variant>

#include "engine/core/event_types.h"
#include "engine/core/settlement.h"

namespace fxsettle::engine {

using Event =
    std::variant<OrderAccepted, OrderRejected, OrderFilled, OrderCancelled, OrderReplaced,
                 OrderStatusReport, QuoteIssued, QuoteRejected, PayoutAccepted, PayoutRejected,
                 PayoutSettled, PayoutFailed, DepositCredited, CommandRejected, PositionReport,
                 LimitsChanged,
                 // settlement.h (PayoutSettled and PayoutFailed above are settlement's too)
                 ConversionExecuted, HedgeOrder, HedgeFilled, ExposureReported, HoldBack,
                 SettlementObligation, PaymentOrder, CycleReport, SettlementReplyRejected>;

// Settlement's event as an Event (the same alternative type).
Event to_event(SettlementEvent&& event);

}  // namespace fxsettle::engine
