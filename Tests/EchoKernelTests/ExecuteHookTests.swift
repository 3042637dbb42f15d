import Testing
@testable import echo_kernel

@Suite struct ExecuteHookTests {
    @Test func plainLinesAreNotHooks() {
        #expect(ExecuteHook.parse(line: "hello") == nil)
        #expect(ExecuteHook.parse(line: " %sleep 1") == nil)
        #expect(ExecuteHook.parse(line: "%unknown thing") == nil)
        #expect(ExecuteHook.parse(line: "%sleepy 1") == nil)
    }

    @Test func argumentsAreParsed() {
        #expect(ExecuteHook.parse(line: "%input Name: ") == .input(prompt: "Name: "))
        #expect(ExecuteHook.parse(line: "%input") == .input(prompt: ""))
        #expect(ExecuteHook.parse(line: "%sleep 0.25") == .sleep(seconds: 0.25))
        #expect(ExecuteHook.parse(line: "%error it  broke ") == .error(message: "it  broke "))
        #expect(ExecuteHook.parse(line: "%exit") == .exit(code: 1))
        #expect(ExecuteHook.parse(line: "%exit 3\r") == .exit(code: 3))
        #expect(ExecuteHook.parse(line: "%stream 5") == .stream(count: 5, size: 10))
        #expect(ExecuteHook.parse(line: "%stream 5 300") == .stream(count: 5, size: 300))
        #expect(ExecuteHook.parse(line: "%received") == .received)
        #expect(ExecuteHook.parse(line: "%env HOME") == .env(name: "HOME"))
        #expect(ExecuteHook.parse(line: "%display") == .display(text: "display"))
        #expect(ExecuteHook.parse(line: "%display a b") == .display(text: "a b"))
    }

    @Test(arguments: ["%sleep soon", "%sleep -1", "%exit 300", "%exit x", "%stream", "%stream x", "%stream 1 0",
                      "%stream 1 2 3", "%received now", "%env", "%env A=B"])
    func badArgumentsAreInvalid(line: String) {
        guard case .invalid(let usage)? = ExecuteHook.parse(line: Substring(line)) else {
            Issue.record("\(line) should be invalid")
            return
        }
        #expect(usage.hasPrefix("usage:"))
    }

    @Test func hookPrecheckLooksAtLineStartsOnly() {
        func check(_ s: String) -> Bool { Array(s.utf8).withUnsafeBytes { ExecuteHook.mayContainHooks($0) } }
        #expect(check("%sleep 1"))
        #expect(check("a\n%error x"))
        #expect(!check("100% sure"))
        #expect(!check("a\n b %c"))
        #expect(!check(""))
    }
}
