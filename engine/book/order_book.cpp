#include "engine/book/order_book.h"

#include <algorithm>
#include <string>

namespace fxsettle::engine::book {

namespace {

Event rejected(OrderId id, OwnerId owner, BookReject reject) {
    Event event;
    event.kind = EventKind::kRejected;
    event.order = id;
    event.owner = owner;
    event.reject = reject;
    return event;
}

Event cancelled(std::uint64_t id, std::uint32_t owner, Side side, std::int64_t price,
                std::int64_t remaining, CancelReason reason) {
    Event event;
    event.kind = EventKind::kCancelled;
    event.order = OrderId{id};
    event.owner = OwnerId{owner};
    event.side = side;
    event.price = Price{price};
    event.remaining = Quantity{remaining};
    event.cancel_reason = reason;
    return event;
}

bool quantity_valid(std::int64_t quantity) noexcept {
    return quantity > 0 && quantity <= kQuantityMax;
}

}  // namespace

// ---- IdMap ----

OrderBook::IdMap::IdMap(std::uint32_t entries_max) {
    // At least two groups, so that shift_ stays below 64.
    std::size_t capacity = 2 * kRunIds;
    unsigned bits = kRunBits + 1;
    while (capacity < 2 * static_cast<std::size_t>(entries_max)) {
        capacity <<= 1;
        ++bits;
    }
    buckets_.resize(capacity);
    mask_ = capacity - 1;
    shift_ = 64 - (bits - kRunBits);
}

std::uint32_t OrderBook::IdMap::find(std::uint64_t id,
                                     const std::vector<Slot>& slots) const noexcept {
    const std::uint32_t tag = tag_of(id);
    for (std::size_t i = home(tag);; i = (i + 1) & mask_) {
        const Bucket& bucket = buckets_[i];
        if (bucket.slot == kNil)
            return kNil;
        if (bucket.tag == tag && slots[bucket.slot].id == id)
            return bucket.slot;
    }
}

void OrderBook::IdMap::insert(std::uint64_t id, std::uint32_t slot) noexcept {
    const std::uint32_t tag = tag_of(id);
    std::size_t i = home(tag);
    while (buckets_[i].slot != kNil)
        i = (i + 1) & mask_;
    buckets_[i] = Bucket{tag, slot};
}

void OrderBook::IdMap::erase(std::uint64_t id, std::uint32_t slot) noexcept {
    std::size_t i = home(tag_of(id));
    while (buckets_[i].slot != slot)
        i = (i + 1) & mask_;
    // Backward-shift deletion: pull later entries of the probe run into the hole unless
    // their home lies cyclically in (hole, entry], where the hole would hide them.
    std::size_t j = i;
    for (;;) {
        j = (j + 1) & mask_;
        if (buckets_[j].slot == kNil)
            break;
        const std::size_t k = home(buckets_[j].tag);
        const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            buckets_[i] = buckets_[j];
            i = j;
        }
    }
    buckets_[i] = Bucket{};
}

std::size_t OrderBook::IdMap::count_entries() const noexcept {
    return static_cast<std::size_t>(
        std::count_if(buckets_.begin(), buckets_.end(),
                      [](const Bucket& bucket) { return bucket.slot != kNil; }));
}

// ---- LevelMap ----

OrderBook::LevelMap::LevelMap(std::uint32_t entries_max) {
    std::size_t capacity = 2 * kRunKeys;
    unsigned bits = kRunBits + 1;
    while (capacity < 2 * static_cast<std::size_t>(entries_max)) {
        capacity <<= 1;
        ++bits;
    }
    buckets_.assign(capacity, kNil);
    mask_ = capacity - 1;
    shift_ = 64 - (bits - kRunBits);
}

std::uint32_t OrderBook::LevelMap::find(std::int64_t key,
                                        const std::vector<LevelNode>& levels) const noexcept {
    for (std::size_t i = home(key);; i = (i + 1) & mask_) {
        const std::uint32_t level = buckets_[i];
        if (level == kNil || key_of(levels[level].side, levels[level].price) == key)
            return level;
    }
}

void OrderBook::LevelMap::insert(std::int64_t key, std::uint32_t level) noexcept {
    std::size_t i = home(key);
    while (buckets_[i] != kNil)
        i = (i + 1) & mask_;
    buckets_[i] = level;
}

void OrderBook::LevelMap::erase(std::int64_t key, std::uint32_t level,
                                const std::vector<LevelNode>& levels) noexcept {
    std::size_t i = home(key);
    while (buckets_[i] != level)
        i = (i + 1) & mask_;
    // Backward-shift deletion, as in IdMap::erase.
    std::size_t j = i;
    for (;;) {
        j = (j + 1) & mask_;
        const std::uint32_t moved = buckets_[j];
        if (moved == kNil)
            break;
        const std::size_t k = home(key_of(levels[moved].side, levels[moved].price));
        const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            buckets_[i] = moved;
            i = j;
        }
    }
    buckets_[i] = kNil;
}

std::size_t OrderBook::LevelMap::count_entries() const noexcept {
    return static_cast<std::size_t>(std::count_if(
        buckets_.begin(), buckets_.end(), [](std::uint32_t level) { return level != kNil; }));
}

// ---- OrderBook ----

OrderBook::OrderBook(std::uint32_t orders_max)
    : orders_max_(orders_max), ids_(orders_max), level_map_(orders_max) {
    FXSETTLE_ASSERT(orders_max >= 1 && orders_max <= kBookOrdersMax,
                    "orders_max must be in [1, kBookOrdersMax]");
    // resize() writes every element, so the pages are mapped now and not on the hot path.
    slots_.resize(orders_max);
    for (std::uint32_t i = 0; i < orders_max; ++i)
        slots_[i].next = i + 1 < orders_max ? i + 1 : kNil;
    free_slot_ = 0;
    levels_.resize(orders_max);
    for (std::uint32_t i = 0; i < orders_max; ++i)
        levels_[i].head = i + 1 < orders_max ? i + 1 : kNil;
    free_level_ = 0;
    // A side never has more levels than resting orders.
    bids_.reserve(orders_max);
    asks_.reserve(orders_max);
}

void OrderBook::add(const NewOrder& order, std::vector<Event>& out) {
    FXSETTLE_ASSERT(order.id.value != 0, "order id 0 is reserved");
    const bool limit = order.type == OrderType::kLimit;
    BookReject reject = BookReject::kNone;
    if (!quantity_valid(order.quantity.minor))
        reject = BookReject::kQuantityInvalid;
    else if (limit && order.price.ticks <= 0)
        reject = BookReject::kPriceInvalid;
    else if (ids_.find(order.id.value, slots_) != kNil)
        reject = BookReject::kDuplicateOrderId;
    else if (limit && (order.tif == TimeInForce::kGtc || order.tif == TimeInForce::kDay) &&
             order_count_ >= orders_max_)
        reject = BookReject::kBookFull;
    if (reject != BookReject::kNone) {
        Event event = rejected(order.id, order.owner, reject);
        event.side = order.side;
        out.push_back(event);
        return;
    }
    // The engine assigns ids in sequence: the next run of ids lives in another cache line
    // of the id map, which a fetch now spares the next run's first duplicate check.
    ids_.prefetch(order.id.value + IdMap::kRunIds);
    const std::int64_t price = limit ? order.price.ticks : 0;
    Event accepted;
    accepted.kind = EventKind::kAccepted;
    accepted.order = order.id;
    accepted.owner = order.owner;
    accepted.side = order.side;
    accepted.price = Price{price};
    accepted.remaining = order.quantity;
    out.push_back(accepted);
    match_and_finish(order.id.value, order.owner.value, order.side, order.type, order.tif, price,
                     order.quantity.minor, out);
}

bool OrderBook::fok_can_fill(Side side, std::uint32_t owner, const std::optional<Price>& limit,
                             std::int64_t quantity) const noexcept {
    const auto& refs = side_levels(opposite(side));
    std::int64_t reachable = 0;
    for (auto it = refs.rbegin(); it != refs.rend(); ++it) {
        const LevelNode& level = levels_[it->level];
        if (!crosses(side, limit, level.price))
            return false;
        if (reachable + level.quantity < quantity) {
            // The whole level will not do: only an own order in it matters.
            for (std::uint32_t s = level.head; s != kNil; s = slots_[s].next) {
                if (slots_[s].owner == owner)
                    return false;
            }
            reachable += level.quantity;
            continue;
        }
        for (std::uint32_t s = level.head; s != kNil; s = slots_[s].next) {
            if (slots_[s].owner == owner)
                return false;
            reachable += slots_[s].remaining;
            if (reachable >= quantity)
                return true;
        }
    }
    return false;
}

void OrderBook::match_and_finish(std::uint64_t id, std::uint32_t owner, Side side, OrderType type,
                                 TimeInForce tif, std::int64_t price, std::int64_t quantity,
                                 std::vector<Event>& out) {
    const std::optional<Price> limit =
        type == OrderType::kLimit ? std::optional<Price>(Price{price}) : std::nullopt;
    auto& refs = side_levels(opposite(side));
    if (type == OrderType::kMarket && refs.empty()) {
        out.push_back(cancelled(id, owner, side, price, quantity, CancelReason::kNoLiquidity));
        return;
    }
    if (tif == TimeInForce::kFok && !fok_can_fill(side, owner, limit, quantity)) {
        out.push_back(cancelled(id, owner, side, price, quantity, CancelReason::kFokUnfilled));
        return;
    }

    std::int64_t left = quantity;
    bool self_trade = false;
    while (left > 0 && !refs.empty()) {
        const std::uint32_t level_index = refs.back().level;
        LevelNode& level = levels_[level_index];
        if (!crosses(side, limit, level.price))
            break;
        std::uint32_t s = level.head;
        while (s != kNil && left > 0) {
            Slot& maker = slots_[s];
            if (maker.owner == owner) {
                self_trade = true;
                break;
            }
            const std::int64_t traded = std::min(left, maker.remaining);
            left -= traded;
            maker.remaining -= traded;
            level.quantity -= traded;

            Event fill;
            fill.kind = EventKind::kFill;
            fill.order = OrderId{id};
            fill.owner = OwnerId{owner};
            fill.counter_order = OrderId{maker.id};
            fill.counter_owner = OwnerId{maker.owner};
            fill.side = side;
            fill.price = Price{level.price};
            fill.quantity = Quantity{traded};
            fill.remaining = Quantity{left};
            fill.counter_remaining = Quantity{maker.remaining};
            out.push_back(fill);

            const std::uint32_t next = maker.next;
            if (maker.remaining == 0) {
                // Pop the maker off the front of its level.
                level.head = next;
                if (next != kNil)
                    slots_[next].prev = kNil;
                else
                    level.tail = kNil;
                --level.orders;
                ids_.erase(maker.id, s);
                maker.id = 0;
                maker.next = free_slot_;
                free_slot_ = s;
                --order_count_;
            }
            s = next;
        }
        if (level.orders == 0) {
            level_map_.erase(refs.back().key, level_index, levels_);
            level.head = free_level_;
            free_level_ = level_index;
            refs.pop_back();
        }
        if (self_trade)
            break;
    }

    if (left == 0)
        return;
    if (self_trade) {
        out.push_back(cancelled(id, owner, side, price, left, CancelReason::kSelfTrade));
    } else if (type == OrderType::kMarket || tif == TimeInForce::kIoc) {
        out.push_back(cancelled(id, owner, side, price, left, CancelReason::kIocRemainder));
    } else {
        FXSETTLE_ASSERT(tif != TimeInForce::kFok, "a FOK order that passed its check filled");
        rest(id, owner, side, tif, price, left);
        Event rested;
        rested.kind = EventKind::kRested;
        rested.order = OrderId{id};
        rested.owner = OwnerId{owner};
        rested.side = side;
        rested.price = Price{price};
        rested.remaining = Quantity{left};
        out.push_back(rested);
    }
}

void OrderBook::cancel(OrderId id, OwnerId owner, std::vector<Event>& out) {
    const std::uint32_t s = ids_.find(id.value, slots_);
    if (s == kNil || id.value == 0) {
        out.push_back(rejected(id, owner, BookReject::kUnknownOrder));
        return;
    }
    const Slot& slot = slots_[s];
    if (slot.owner != owner.value) {
        out.push_back(rejected(id, owner, BookReject::kNotOwner));
        return;
    }
    const LevelNode& level = levels_[slot.level];
    out.push_back(cancelled(slot.id, slot.owner, level.side, level.price, slot.remaining,
                            CancelReason::kRequested));
    remove(s);
}

void OrderBook::replace(OrderId id, OwnerId owner, Price price, Quantity remaining,
                        std::vector<Event>& out) {
    const std::uint32_t s = id.value == 0 ? kNil : ids_.find(id.value, slots_);
    BookReject reject = BookReject::kNone;
    if (s == kNil)
        reject = BookReject::kUnknownOrder;
    else if (slots_[s].owner != owner.value)
        reject = BookReject::kNotOwner;
    else if (!quantity_valid(remaining.minor))
        reject = BookReject::kReplaceInvalid;
    else if (price.ticks <= 0)
        reject = BookReject::kPriceInvalid;
    if (reject != BookReject::kNone) {
        out.push_back(rejected(id, owner, reject));
        return;
    }

    Slot& slot = slots_[s];
    LevelNode& level = levels_[slot.level];
    Event replaced;
    replaced.kind = EventKind::kReplaced;
    replaced.order = id;
    replaced.owner = owner;
    replaced.side = level.side;
    replaced.price = price;
    replaced.remaining = remaining;
    if (price.ticks == level.price && remaining.minor <= slot.remaining) {
        level.quantity -= slot.remaining - remaining.minor;
        slot.remaining = remaining.minor;
        replaced.priority_kept = true;
        out.push_back(replaced);
        return;
    }
    const Side side = level.side;
    const auto tif = static_cast<TimeInForce>(slot.tif);
    remove(s);
    out.push_back(replaced);
    match_and_finish(id.value, owner.value, side, OrderType::kLimit, tif, price.ticks,
                     remaining.minor, out);
}

void OrderBook::expire_day_orders(std::vector<Event>& out) {
    for (const Side side : {Side::kBuy, Side::kSell}) {
        auto& refs = side_levels(side);
        // Removing entry i only moves the entries after it (the better levels, done).
        for (std::size_t i = refs.size(); i-- > 0;) {
            const std::int64_t price = levels_[refs[i].level].price;
            std::uint32_t s = levels_[refs[i].level].head;
            while (s != kNil) {
                const Slot& slot = slots_[s];
                const std::uint32_t next = slot.next;
                if (slot.tif == static_cast<std::uint32_t>(TimeInForce::kDay)) {
                    out.push_back(cancelled(slot.id, slot.owner, side, price, slot.remaining,
                                            CancelReason::kExpired));
                    remove(s);
                }
                s = next;
            }
        }
    }
}

std::optional<OrderView> OrderBook::find(OrderId id) const {
    if (id.value == 0)
        return std::nullopt;
    const std::uint32_t s = ids_.find(id.value, slots_);
    if (s == kNil)
        return std::nullopt;
    return view_of(slots_[s]);
}

std::optional<Level> OrderBook::best(Side side) const {
    const auto& refs = side_levels(side);
    if (refs.empty())
        return std::nullopt;
    const LevelNode& level = levels_[refs.back().level];
    return Level{Price{level.price}, Quantity{level.quantity}, level.orders};
}

std::vector<Level> OrderBook::depth(Side side, std::size_t levels) const {
    const auto& refs = side_levels(side);
    std::vector<Level> result;
    result.reserve(std::min(levels, refs.size()));
    for (auto it = refs.rbegin(); it != refs.rend() && result.size() < levels; ++it) {
        const LevelNode& level = levels_[it->level];
        result.push_back(Level{Price{level.price}, Quantity{level.quantity}, level.orders});
    }
    return result;
}

void OrderBook::rest(std::uint64_t id, std::uint32_t owner, Side side, TimeInForce tif,
                     std::int64_t price, std::int64_t quantity) {
    FXSETTLE_ASSERT(free_slot_ != kNil, "no free slot for a resting order");
    const std::uint32_t s = free_slot_;
    Slot& slot = slots_[s];
    free_slot_ = slot.next;
    // The next free slot was freed by some earlier cancel or fill and is likely out of
    // the cache: start fetching it now, for the next order to rest.
    if (free_slot_ != kNil)
        __builtin_prefetch(&slots_[free_slot_], 1);
    const std::uint32_t level_index = find_or_insert_level(side, price);
    LevelNode& level = levels_[level_index];
    slot.id = id;
    slot.remaining = quantity;
    slot.owner = owner;
    slot.tif = static_cast<std::uint32_t>(tif);
    slot.level = level_index;
    slot.next = kNil;
    slot.prev = level.tail;
    if (level.tail != kNil)
        slots_[level.tail].next = s;
    else
        level.head = s;
    level.tail = s;
    level.quantity += quantity;
    ++level.orders;
    ids_.insert(id, s);
    ++order_count_;
}

void OrderBook::remove(std::uint32_t s) noexcept {
    Slot& slot = slots_[s];
    LevelNode& level = levels_[slot.level];
    if (slot.prev != kNil)
        slots_[slot.prev].next = slot.next;
    else
        level.head = slot.next;
    if (slot.next != kNil)
        slots_[slot.next].prev = slot.prev;
    else
        level.tail = slot.prev;
    level.quantity -= slot.remaining;
    --level.orders;
    if (level.orders == 0)
        erase_level(level.side, slot.level);
    ids_.erase(slot.id, s);
    slot.id = 0;
    slot.prev = kNil;
    slot.level = kLevelNil;
    slot.next = free_slot_;
    free_slot_ = s;
    --order_count_;
}

std::size_t OrderBook::lower_bound_from_back(const std::vector<LevelRef>& refs,
                                             std::int64_t key) noexcept {
    // Most adds, cancels and fills happen within a few levels of the best: look there
    // first, then binary-search the rest.
    constexpr int kLinearStepsMax = 8;
    std::size_t i = refs.size();
    for (int step = 0; step < kLinearStepsMax && i > 0; ++step) {
        if (refs[i - 1].key < key)
            return i;
        --i;
    }
    const auto it =
        std::lower_bound(refs.begin(), refs.begin() + static_cast<std::ptrdiff_t>(i), key,
                         [](const LevelRef& ref, std::int64_t k) { return ref.key < k; });
    return static_cast<std::size_t>(it - refs.begin());
}

std::uint32_t OrderBook::find_or_insert_level(Side side, std::int64_t price) {
    const std::int64_t key = key_of(side, price);
    const std::uint32_t found = level_map_.find(key, levels_);
    if (found != kNil)
        return found;
    auto& refs = side_levels(side);
    const std::size_t i = lower_bound_from_back(refs, key);
    FXSETTLE_ASSERT(free_level_ != kNil, "no free price level");
    FXSETTLE_ASSERT(refs.size() < refs.capacity(), "a side's level vector would grow");
    const std::uint32_t level_index = free_level_;
    LevelNode& level = levels_[level_index];
    free_level_ = level.head;
    level = LevelNode{price, 0, 0, kNil, kNil, side};
    refs.insert(refs.begin() + static_cast<std::ptrdiff_t>(i), LevelRef{key, level_index});
    level_map_.insert(key, level_index);
    return level_index;
}

void OrderBook::erase_level(Side side, std::uint32_t level_index) noexcept {
    auto& refs = side_levels(side);
    LevelNode& level = levels_[level_index];
    const std::int64_t key = key_of(side, level.price);
    const std::size_t i = lower_bound_from_back(refs, key);
    FXSETTLE_ASSERT(i < refs.size() && refs[i].level == level_index,
                    "a price level is missing from its side");
    refs.erase(refs.begin() + static_cast<std::ptrdiff_t>(i));
    level_map_.erase(key, level_index, levels_);
    level.head = free_level_;
    free_level_ = level_index;
}

Status OrderBook::validate() const {
    auto broken = [](const std::string& what) {
        return Status(StatusCode::kInternal, "order book invariant: " + what);
    };
    std::size_t orders = 0;
    std::size_t level_count = 0;
    for (const Side side : {Side::kBuy, Side::kSell}) {
        const auto& refs = side_levels(side);
        for (std::size_t i = 0; i < refs.size(); ++i) {
            const LevelNode& level = levels_[refs[i].level];
            if (refs[i].key != key_of(side, level.price))
                return broken("level key does not match its price");
            if (i > 0 && refs[i - 1].key >= refs[i].key)
                return broken("levels not strictly sorted");
            if (level.orders == 0 || level.head == kNil)
                return broken("empty level in a side");
            if (level_map_.find(refs[i].key, levels_) != refs[i].level)
                return broken("level map does not point at a level");
            std::int64_t quantity = 0;
            std::uint32_t count = 0;
            std::uint32_t prev = kNil;
            for (std::uint32_t s = level.head; s != kNil; s = slots_[s].next) {
                const Slot& slot = slots_[s];
                if (slot.prev != prev)
                    return broken("prev link broken at order " + std::to_string(slot.id));
                if (slot.level != refs[i].level || level.side != side)
                    return broken("order " + std::to_string(slot.id) + " in the wrong level");
                if (slot.remaining <= 0)
                    return broken("order " + std::to_string(slot.id) + " rests with nothing");
                if (slot.tif != static_cast<std::uint32_t>(TimeInForce::kDay) &&
                    slot.tif != static_cast<std::uint32_t>(TimeInForce::kGtc))
                    return broken("a non-Day, non-GTC order rests");
                if (ids_.find(slot.id, slots_) != s)
                    return broken("id map does not point at order " + std::to_string(slot.id));
                quantity += slot.remaining;
                ++count;
                prev = s;
                if (count > orders_max_)
                    return broken("level list cycles");
            }
            if (level.tail != prev)
                return broken("level tail is not its last order");
            if (quantity != level.quantity || count != level.orders)
                return broken("level sum or count differs from its orders");
            orders += count;
            ++level_count;
        }
    }
    if (orders != order_count_)
        return broken("order_count differs from the orders in levels");
    if (ids_.count_entries() != order_count_)
        return broken("id map holds a different number of orders");
    if (level_map_.count_entries() != level_count)
        return broken("level map holds a different number of levels");
    std::size_t free_slots = 0;
    for (std::uint32_t s = free_slot_; s != kNil && free_slots <= orders_max_; s = slots_[s].next)
        ++free_slots;
    if (free_slots + order_count_ != orders_max_)
        return broken("free slots + orders != orders_max");
    std::size_t free_levels = 0;
    for (std::uint32_t l = free_level_; l != kNil && free_levels <= orders_max_;
         l = levels_[l].head)
        ++free_levels;
    if (free_levels + level_count != orders_max_)
        return broken("free levels + levels != orders_max");
    if (!bids_.empty() && !asks_.empty() &&
        levels_[bids_.back().level].price >= levels_[asks_.back().level].price)
        return broken("the book is crossed");
    return Status::ok();
}

}  // namespace fxsettle::engine::book
