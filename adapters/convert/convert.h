// The one place per direction where FIX messages (adapters/fix/wire.h) become engine
// commands (engine/core/commands.h) and engine events (engine/core/events.h) become FIX
// messages (STYLE.md "Domain first, wire at the edge"). C++20, no QuickFIX: the gateway,
// the venue and bank adapters and the simulators call it between a SessionHost and the
// sequencer. The FIX side of every message is config/fix/FIX44-fxsettle.xml; the rules a
// counterparty reads are adapters/fix/RULES_OF_ENGAGEMENT.md.
//
// Inbound (from_psp, from_venue, from_bank): a message that has passed the dictionary
// (the SessionHost validates before its Handler sees it) becomes zero or more commands.
// Content the engine cannot take (an unknown currency or pair, more decimals than the
// currency has, an amount beyond 128 bits, an id that is not ours, a PSP named in the
// message that is not the session's) becomes, for a PSP, the reply to send on the same
// session instead (ExecutionReport Rejected, OrderCancelReject, QuoteRequestReject,
// PayoutStatus R, RequestForPositionsAck rejected, or BusinessMessageReject), always with
// ReasonCode (7000, an engine Reason) and a Text naming the field and the problem. The PSP
// a command acts for is always the session's (the `psp` argument), never message content.
//
// Outbound (to_wire): every engine Event says where it goes (a PSP, a venue, a bank or
// nowhere) and the messages to send there. Identifiers are derived from the event alone
// (ExecID, PosMaintRptID, SettlObligMsgID, ...), so an outbox row delivered again after a
// restart repeats the same ids and the counterparty can drop the repeat.
//
// State: the engine's OrderCancelled, OrderReplaced, OrderRejected and QuoteRejected carry
// the pair and side that Symbol and Side come from, and OrderRejected the id and state of
// the order a refused cancel or replace names (event_types.h), so their reports need no
// memory, also after a restart. A few cases still do, and for them the Converter
// remembers, per PSP and client id, the Symbol and Side of the requests it converted and
// the OrderID and OrdStatus of the orders the engine reported (bounded:
// kRememberedRequestsMax, oldest forgotten first): the rejection of a status request for
// an order the engine does not know (its Symbol and Side are only in the request), a
// QuoteRejected of currencies no pair converts, and events decoded from outbox rows
// written before the engine added those fields (codec.h version 1; for such an
// OrderCancelReject, OrderID and OrdStatus are NONE and 8 when forgotten). An
// OrderCancelReject for an order the engine reports unknown (kUnknownOrder) says NONE and
// 8 whatever the memory holds. When such an event
// needs what was forgotten, to_wire answers with a BusinessMessageReject (RefMsgType of
// the request, BusinessRejectRefID = the client id) carrying the same ReasonCode and Text,
// which the dictionary always allows. The venue side keeps the top of book per venue and
// symbol for MarketDataIncrementalRefresh.
//
// Threads: every member function may be called from any thread, concurrently (one mutex
// guards the remembered state; calls are short and never block on I/O).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/fix/wire.h"
#include "config/config.h"
#include "engine/base/status.h"
#include "engine/chart/chart.h"
#include "engine/core/commands.h"
#include "engine/core/event_types.h"
#include "engine/core/events.h"
#include "engine/core/settlement.h"
#include "ledger/types.h"

namespace fxsettle::adapters::convert {

// Bounds (STYLE.md).
inline constexpr std::size_t kRememberedRequestsMax = std::size_t{1} << 20;
inline constexpr std::size_t kQuoteRequestSymbolsMax = 1;   // NoRelatedSym entries on an R
inline constexpr std::size_t kMarketDataEntriesMax = 1024;  // NoMDEntries handled per W/X
// Text (58) on a PSP's request: the engine does not keep it, so a longer one is refused
// (text_too_long) rather than carried through an oversized message.
inline constexpr std::size_t kPspTextBytesMax = 1024;
// A PSP's client ids (ClOrdID, OrigClOrdID, OrdStatusReqID, QuoteReqID, PayoutInstrID,
// PosReqID): 1..kClientIdBytesMax bytes of visible ASCII (0x21-0x7E), so that an id is
// never truncated, never carries a control byte into a log or a reply, and compares the
// same on every side. The engine keeps ids of at most this many bytes.
inline constexpr std::size_t kClientIdBytesMax = engine::kClientIdBytesMax;
// BeneficiaryBankID (7105) names a configured bank; a longer one is refused unread.
inline constexpr std::size_t kBankIdBytesMax = 64;
// TransactTime (60) on a PSP's request, and AN's ClearingBusinessDate (715): from
// kTransactTimeEarliest up to (not including) kTransactTimeLatest, UTC. The window is
// absolute, not relative to fxsettle's clock: that clock may run simulated (demo, tests)
// while clients stamp wall time. It refuses garbage (1900, 9999, an epoch error), not a
// skewed clock.
inline constexpr std::chrono::sys_days kTransactTimeEarliest{std::chrono::year{2000} /
                                                             std::chrono::January / 1};
inline constexpr std::chrono::sys_days kTransactTimeLatest{std::chrono::year{2100} /
                                                           std::chrono::January / 1};

// FIX field tags the converter reads or writes (config/fix/README.md has the full table).
namespace tag {
inline constexpr int kAccount = 1, kAvgPx = 6, kClOrdId = 11, kCumQty = 14, kCurrency = 15,
                     kExecId = 17, kLastPx = 31, kLastQty = 32, kOrderId = 37, kOrderQty = 38,
                     kOrdStatus = 39, kOrdType = 40, kOrigClOrdId = 41, kPrice = 44,
                     kRefSeqNum = 45, kSide = 54, kSymbol = 55, kText = 58, kTimeInForce = 59,
                     kTransactTime = 60, kValidUntilTime = 62, kSettlType = 63, kSettlDate = 64,
                     kOrdRejReason = 103, kQuoteId = 117, kQuoteReqId = 131, kBidPx = 132,
                     kOfferPx = 133, kBidSize = 134, kOfferSize = 135, kNoRelatedSym = 146,
                     kExecType = 150, kLeavesQty = 151, kMdReqId = 262,
                     kSubscriptionRequestType = 263, kMarketDepth = 264, kMdUpdateType = 265,
                     kAggregatedBook = 266, kNoMdEntryTypes = 267, kNoMdEntries = 268,
                     kMdEntryType = 269, kMdEntryPx = 270, kMdEntrySize = 271, kMdEntryDate = 272,
                     kMdEntryTime = 273, kMdEntryId = 278, kMdUpdateAction = 279,
                     kMdReqRejReason = 281, kRefMsgType = 372, kBusinessRejectRefId = 379,
                     kBusinessRejectReason = 380, kCxlRejResponseTo = 434, kCxlRejReason = 102,
                     kProduct = 460, kQuoteRequestRejectReason = 658, kPosReqId = 710,
                     kClearingBusinessDate = 715, kPosMaintRptId = 721, kPosReqType = 724,
                     kTotalNumPosReports = 727, kPosReqResult = 728, kPosReqStatus = 729,
                     kOrdStatusReqId = 790, kTrdMatchId = 880, kUnsolicitedIndicator = 325;
inline constexpr int kReasonCode = 7000;
inline constexpr int kPayoutInstrId = 7100, kPayoutId = 7101, kPayoutAmt = 7102,
                     kFundingCurrency = 7103, kFundingAmt = 7104, kBeneficiaryBankId = 7105,
                     kBeneficiaryAccount = 7106, kBeneficiaryName = 7107,
                     kBeneficiaryCountry = 7108, kPayeeAccount = 7109, kPayoutPurpose = 7110,
                     kPayoutReference = 7111, kPayoutStatusCode = 7112, kPayoutRate = 7113,
                     kRateLocked = 7114, kRefundAmt = 7115, kRefundCurrency = 7116;
inline constexpr int kPaymentOrderId = 7200, kPaymentOrderTotalAmt = 7201, kNoPaymentLines = 7202,
                     kPaymentLineNo = 7203, kLineAmt = 7204, kLineCurrency = 7205,
                     kOrderingAccount = 7206, kBankReference = 7207, kNoPaymentLineStatus = 7208,
                     kPaymentLineStatus = 7209, kBankRejectCode = 7210;
inline constexpr int kSettlementCycleId = 7300, kSettlObligMsgId = 7301, kSettlObligMode = 7302,
                     kNoSettlOblig = 7303, kSettlObligId = 7304, kSettlObligTransType = 7305,
                     kSettlObligRefId = 7306, kCcyAmt = 7307, kGrossInAmt = 7308,
                     kGrossOutAmt = 7309, kNetAmt = 7310, kObligationDirection = 7311,
                     kInstructionCount = 7312, kFundingMode = 7313;
inline constexpr int kContraAmt = 7400, kContraCurrency = 7401;
inline constexpr int kAvailableAmt = 7500, kHeldAmt = 7501, kReceivableAmt = 7502,
                     kNetPositionAmt = 7503, kNetDebitCapAmt = 7504, kHeadroomAmt = 7505,
                     kAggregateCapAmt = 7506, kAggregateCapCurrency = 7507,
                     kAggregateUsedAmt = 7508;
inline constexpr int kDepositRef = 7600, kDepositAmt = 7601;
}  // namespace tag

// ---- Identifiers fxsettle assigns --------------------------------------------------------

// A hedge order's ClOrdID at the venue: "HG-<hedge id>" (settlement.h HedgeId).
std::string hedge_cl_ord_id(engine::HedgeId hedge_id);
// The hedge id of "HG-<digits>" (no sign, no leading zeros but "0" itself is refused: ids
// start at 1); nullopt for anything else.
std::optional<engine::HedgeId> parse_hedge_cl_ord_id(std::string_view text);
// A payment order's PaymentOrderID at the bank: "PO-<payment order id>".
std::string payment_order_id_text(engine::PaymentOrderId order_id);
std::optional<engine::PaymentOrderId> parse_payment_order_id(std::string_view text);

// FIX time and date text (UTC): "YYYYMMDD-HH:MM:SS.sss" (UTCTIMESTAMP, milliseconds,
// truncated) and "YYYYMMDD" (LOCALMKTDATE / UTCDATEONLY).
std::string format_utc_timestamp(ledger::Timestamp time);
std::string format_fix_date(ledger::Date date);
// Parses UTCTIMESTAMP with 0, 3, 6 or 9 decimals of a second; nullopt when malformed.
std::optional<ledger::Timestamp> parse_utc_timestamp(std::string_view text);
// Parses YYYYMMDD naming a real date (years 1900-9999); nullopt when malformed.
std::optional<ledger::Date> parse_fix_date(std::string_view text);

// ---- Results -------------------------------------------------------------------------------

// What one inbound message amounts to.
struct Inbound {
    // The commands to submit to the sequencer, in order. Empty when the message was refused
    // (then `reply` is set for a PSP) or carries nothing the engine acts on (`note`).
    std::vector<engine::Command> commands;
    // The reply to send back on the same session when the message was refused (PSP
    // sessions), and for a MsgType a PSP may not send (a j with BusinessRejectReason 3;
    // `reason` stays kNone then). Venue and bank sessions get none: their refusals are
    // only `note`d.
    std::optional<WireMessage> reply;
    // Why the message was refused (kNone when it was not): the ReasonCode and Text the
    // reply carries.
    engine::Reason reason = engine::Reason::kNone;
    std::string text;
    // True when the message named another PSP than the session's (Account 1, or another
    // field that must be the session's own PSP): an authorisation breach the gateway logs
    // and counts (metrics), on top of sending the reply.
    bool authorization_breach = false;
    // For logs: what happened to a message that produced no command (a venue's
    // MarketDataRequestReject, a BusinessMessageReject, a refused venue or bank message,
    // an execution report that changes nothing). Empty otherwise.
    std::string note;

    bool refused() const noexcept { return reason != engine::Reason::kNone; }
};

// Where an outbound message goes. `index` is the chart's PspIndex, VenueIndex or BankIndex.
enum class Peer : std::uint8_t { kNone = 0, kPsp = 1, kVenue = 2, kBank = 3 };
struct Destination {
    Peer peer = Peer::kNone;
    std::uint32_t index = 0;
    friend bool operator==(const Destination&, const Destination&) = default;
};

// What one engine event amounts to.
struct Outbound {
    Destination to;                     // kNone: the event goes to no counterparty
    std::vector<WireMessage> messages;  // in sending order; empty when `to` is kNone
    // For logs: why nothing is sent (events that go nowhere: "CycleReport: internal"), or
    // a caveat about what was sent (a fallback BusinessMessageReject). Empty otherwise.
    std::string note;
};

// The session of a destination as fxsettle names it (wire.h SessionKey: our CompID, the
// counterparty's): a PSP's is {gateway.sender_comp_id, psp.sender_comp_id}, a venue's and a
// bank's their configured pair. nullopt for kNone or an index outside the config.
std::optional<SessionKey> session_key(const config::Config& config, Destination destination);

// ---- The converter ---------------------------------------------------------------------------

class Converter {
  public:
    // Builds a converter for `config` (validated by config::load_*): currencies, pairs,
    // PSP, venue and bank ids, through the same chart the engine uses. Fails only when the
    // chart cannot be built (Chart::build's error).
    static Result<Converter> create(const config::Config& config);

    Converter(Converter&&) noexcept;
    Converter& operator=(Converter&&) noexcept;
    Converter(const Converter&) = delete;
    Converter& operator=(const Converter&) = delete;
    ~Converter();

    // ---- Inbound -------------------------------------------------------------------

    // A message from the PSP session authenticated as `psp`, received at `now`:
    //   D NewOrderSingle -> NewOrder; F OrderCancelRequest -> CancelOrder;
    //   G OrderCancelReplaceRequest -> ReplaceOrder; H OrderStatusRequest ->
    //   OrderStatusRequest (client id: OrdStatusReqID, else ClOrdID); R QuoteRequest ->
    //   QuoteRequest; U1 PayoutInstruction -> PayoutInstruction; AN RequestForPositions
    //   -> PositionRequest; j BusinessMessageReject -> nothing (noted).
    // Refused (with `reply`): D -> 8 ExecType/OrdStatus 8 with OrdRejReason; F, G -> 9;
    // H -> 8 ExecType I, OrdStatus 8; R -> AG; U1 -> U2 PayoutStatusCode R; AN -> AO
    // PosReqStatus 2; any other MsgType -> j BusinessRejectReason 3. A psp index outside
    // the config is a programmer error (FXSETTLE_ASSERT).
    Inbound from_psp(engine::PspIndex psp, const WireMessage& message, ledger::Timestamp now);

    // A message from the venue session of `venue`:
    //   W MarketDataSnapshotFullRefresh -> one VenueRate for the Symbol when the snapshot
    //   has both a bid and an offer (best bid = highest, best offer = lowest; sizes of
    //   those entries; time = SendingTime (52), else `now`);
    //   X MarketDataIncrementalRefresh -> one VenueRate per Symbol whose top of book it
    //   changed and that has both sides (entries NEW/CHANGE set the side's top, DELETE
    //   clears it; the venue streams top of book, MarketDepth 1);
    //   8 ExecutionReport for ClOrdID "HG-<id>" -> HedgeFill for ExecType F (Trade): the
    //   ExecID, LastQty, LastPx; last = OrdStatus 2, 3, 4 or C (the order is done);
    //   HedgeReject for ExecType 8 (Rejected) and for ExecType 3, 4 or C without a fill
    //   (the venue cancelled or expired the rest: the rest stays reported exposure);
    //   nothing (noted) for ExecType 0, A, I (status) and the others;
    //   Y MarketDataRequestReject, j BusinessMessageReject -> nothing (noted).
    // A message whose content cannot be read (an unknown Symbol, a malformed price) gives
    // no command and a note naming the problem, and never a reply.
    Inbound from_venue(engine::VenueIndex venue, const WireMessage& message, ledger::Timestamp now);

    // A message from the bank session of `bank`:
    //   U4 PaymentConfirmation -> per line: R -> BankLineRejection (text "<BankRejectCode>:
    //   <Text>"); C -> BankLineConfirmation (the line's BankReference), or, when the
    //   message has a BankReference at order level, one BankConfirmation of the whole
    //   order with it; rejections come first in `commands`;
    //   U6 DepositNotice -> Deposit for the PSP named in Account (a configured PSP id);
    //   j BusinessMessageReject -> nothing (noted).
    // Refusals are noted only (banks get no application-level reply).
    Inbound from_bank(engine::BankIndex bank, const WireMessage& message, ledger::Timestamp now);

    // The reply that refuses `request` (a PSP's message) with `reason` and `text`, as
    // from_psp builds it: for callers that refuse a message for reasons of their own (the
    // sequencer's queue is full: Reason kNone is not allowed; pass the closest reason).
    // `not_authorized` picks the "not authorised" code of the reply where FIX has one.
    WireMessage reject_reply(engine::PspIndex psp, const WireMessage& request,
                             engine::Reason reason, std::string text, ledger::Timestamp now,
                             bool not_authorized = false) const;

    // A BusinessMessageReject (j) for `request`: RefMsgType, BusinessRejectRefID (the
    // request's own id when it has one), BusinessRejectReason (380) `business_reason`,
    // ReasonCode when `reason` is not kNone, Text.
    static WireMessage business_reject(const WireMessage& request, int business_reason,
                                       engine::Reason reason, std::string text);

    // ---- Outbound ------------------------------------------------------------------

    // Where `event` goes and what to send there, at `now` (TransactTime):
    //   OrderAccepted -> 8 New; OrderFilled -> 8 Trade (partial or filled);
    //   OrderCancelled -> 8 Canceled (Expired for a Day order's expiry); OrderReplaced ->
    //   8 Replace; OrderStatusReport -> 8 Order Status; OrderRejected -> 8 Rejected for a
    //   new order or a status request, 9 for a cancel or replace;
    //   QuoteIssued -> S; QuoteRejected -> AG;
    //   PayoutAccepted / PayoutRejected / PayoutSettled / PayoutFailed -> U2 A / R / S / F;
    //   PositionReport -> AO (accepted, TotalNumPosReports) then one AP per currency;
    //   CommandRejected for a position request -> AO rejected;
    //   SettlementObligation -> U5 (one entry: the PSP's currency in the cycle);
    //   HedgeOrder -> D to the venue (limit, IOC, ClOrdID "HG-<id>");
    //   PaymentOrder -> U3 to the bank (one group entry per PaymentLine);
    //   to nobody (note says why): DepositCredited, LimitsChanged, ConversionExecuted,
    //   HedgeFilled, ExposureReported, HoldBack, CycleReport, SettlementReplyRejected,
    //   CommandRejected of deposits, set-limits, venue and bank messages.
    // ExecIDs: "N<order>" new, "F<order>-<trade>" fill, "C<order>" cancel,
    // "R<order>-<ClOrdID>" replace, "S<order>-<request id>" status, "X-<ClOrdID>" reject.
    // Never fails: an event that cannot be expressed is sent as a j (see above) or noted.
    Outbound to_wire(const engine::Event& event, ledger::Timestamp now);

    // Venue session helpers. A MarketDataRequest (V) subscribing to the top of book
    // (MarketDepth 1, snapshot + updates, full refresh) of every pair the venue quotes
    // (config venues[].pairs, all pairs when empty), bid and offer, with MDReqID
    // `md_req_id` (non-empty).
    WireMessage market_data_request(engine::VenueIndex venue, std::string_view md_req_id) const;
    // An OrderStatusRequest (H) for a hedge order in flight (after a reconnect).
    WireMessage hedge_status_request(const engine::HedgeOrder& hedge) const;

    // The configured pair of a hedge's PairIndex (config order).
    const money::CurrencyPair& pair(engine::PairIndex pair) const;
    const engine::Chart& chart() const;

  private:
    struct Impl;
    explicit Converter(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace fxsettle::adapters::convert
