/// Open connections per client address and in total, and the limits a new connection must stay within. A pure
/// value: `ConnectionLimiter` shares it between loops.
struct ConnectionCounts: Equatable {
    let maxTotal: Int
    let maxPerAddress: Int
    private(set) var total = 0
    private var perAddress: [String: Int] = [:]

    init(maxTotal: Int, maxPerAddress: Int) {
        self.maxTotal = maxTotal
        self.maxPerAddress = maxPerAddress
    }

    /// Open connections from `address`.
    func count(of address: String) -> Int { perAddress[address] ?? 0 }

    /// Counts a new connection from `address`, or says which limit refuses it (counting nothing).
    mutating func admit(_ address: String) -> HTTPServerEvent.Refusal? {
        if total >= maxTotal { return .total }
        let open = perAddress[address] ?? 0
        if open >= maxPerAddress { return .perAddress }
        total += 1
        perAddress[address] = open + 1
        return nil
    }

    /// Forgets one connection from `address` (admitted earlier).
    mutating func release(_ address: String) {
        guard let open = perAddress[address] else { return }
        total -= 1
        // Drop the key at zero: the table holds only addresses with open connections.
        perAddress[address] = open > 1 ? open - 1 : nil
    }
}
