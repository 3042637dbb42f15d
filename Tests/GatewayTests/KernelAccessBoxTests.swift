import Authorization
import Testing
@testable import Gateway

@Suite struct KernelAccessBoxTests {
    @Test func generationMovesWithEveryRealChange() {
        let box = KernelAccessBox(owner: "alice")
        let start = box.generation
        #expect(box.update { $0.setGrant(named: "read", for: "bob") } == true)
        let afterGrant = box.generation
        #expect(afterGrant != start)
        #expect(box.snapshot.grant(for: "bob") == .read)
        // The same grant again changes nothing.
        _ = box.update { $0.setGrant(named: "read", for: "bob") }
        #expect(box.generation == afterGrant)
        #expect(box.update { $0.setGrant(named: "none", for: "bob") } == true)
        #expect(box.generation != afterGrant)
        #expect(box.snapshot.grant(for: "bob") == nil)
        #expect(box.update { $0.setGrant(named: "admin", for: "bob") } == nil)
    }
}
