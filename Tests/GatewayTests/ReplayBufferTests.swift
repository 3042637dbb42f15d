import Testing
@testable import Gateway

@Suite struct ReplayBufferTests {
    @Test func keepsMessagesInOrderWithinTheBound() {
        var buffer = ReplayBuffer(capacityBytes: 100)
        for i in 0..<5 { buffer.append(.text, [UInt8](repeating: UInt8(i), count: 10)) }
        #expect(buffer.count == 5 && buffer.bytes == 50 && buffer.dropped == 0)
        let (entries, dropped) = buffer.drain()
        #expect(entries.map { $0.bytes[0] } == [0, 1, 2, 3, 4])
        #expect(dropped == 0)
        #expect(buffer.count == 0 && buffer.bytes == 0)
    }

    @Test func dropsOldestAndCountsThem() {
        var buffer = ReplayBuffer(capacityBytes: 30)
        for i in 0..<7 { buffer.append(.binary, [UInt8](repeating: UInt8(i), count: 10)) }
        #expect(buffer.bytes <= 30)
        let (entries, dropped) = buffer.drain()
        #expect(entries.map { $0.bytes[0] } == [4, 5, 6])
        #expect(dropped == 4)
        #expect(buffer.dropped == 0)
    }

    @Test func aMessageLargerThanTheBufferIsCountedNotKept() {
        var buffer = ReplayBuffer(capacityBytes: 8)
        buffer.append(.text, [1, 2])
        buffer.append(.text, [UInt8](repeating: 0, count: 9))
        buffer.noteDropped(2)
        let (entries, dropped) = buffer.drain()
        #expect(entries.count == 1)
        #expect(dropped == 3)
    }

    @Test func compactsAfterManyDrops() {
        var buffer = ReplayBuffer(capacityBytes: 1_000)
        for i in 0..<10_000 { buffer.append(.text, [UInt8(truncatingIfNeeded: i)]) }
        #expect(buffer.count == 1_000)
        #expect(buffer.entries.count < 3_000)
        #expect(buffer.dropped == 9_000)
    }
}
