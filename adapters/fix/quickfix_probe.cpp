#include "adapters/fix/quickfix_probe.h"

#include <algorithm>

#include <quickfix/Message.h>
#include <quickfix/fix44/NewOrderSingle.h>

namespace fxsettle {
namespace adapters {

QuickFixProbe probe_quickfix(const std::string& symbol, const std::string& cl_ord_id) {
    QuickFixProbe out;
    try {
        FIX44::NewOrderSingle order(FIX::ClOrdID(cl_ord_id), FIX::Side(FIX::Side_BUY),
                                    FIX::TransactTime{}, FIX::OrdType(FIX::OrdType_LIMIT));
        order.set(FIX::Symbol(symbol));
        order.getHeader().setField(FIX::SenderCompID("FXSETTLE"));
        order.getHeader().setField(FIX::TargetCompID("PSP1"));
        order.getHeader().setField(FIX::MsgSeqNum(1));
        order.getHeader().setField(FIX::SendingTime());
        const std::string text = order.toString();

        FIX::Message parsed(text, false);
        FIX::ClOrdID id;
        FIX::Symbol sym;
        parsed.getField(id);
        parsed.getField(sym);
        if (id.getValue() != cl_ord_id || sym.getValue() != symbol) {
            out.error = "fields changed in the round trip";
            return out;
        }
        out.message = text;
        std::replace(out.message.begin(), out.message.end(), '\x01', '|');
        out.ok = true;
    } catch (const std::exception& e) {
        out.error = e.what();
    }
    return out;
}

}  // namespace adapters
}  // namespace fxsettle
