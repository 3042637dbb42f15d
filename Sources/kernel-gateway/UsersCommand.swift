import Authorization
import Basics
import Gateway
import Foundation
import Glibc

/// `kernel-gateway users add NAME --role ROLE [--unix-user ACCOUNT] --file FILE` (prints only the new token), `users remove NAME
/// --file FILE`, `users list --file FILE`. Tokens are stored only as hashes; the file is written atomically with
/// mode 0600.
enum UsersCommand {
    static let usage = """
        usage: kernel-gateway users add NAME --role ROLE [--role ROLE...] [--unix-user ACCOUNT] --file FILE
                 (prints the new token; --unix-user names the account its kernels run as under kernel isolation)
               kernel-gateway users remove NAME --file FILE
               kernel-gateway users list --file FILE

        """

    static func run(_ arguments: [String]) -> Int32 {
        guard let verb = arguments.first else { return fail("missing verb") }
        var name: String?
        var roles: [String] = []
        var file: String?
        var unixUser: String?
        var i = 1
        while i < arguments.count {
            switch arguments[i] {
            case "--role":
                guard i + 1 < arguments.count else { return fail("--role needs a value") }
                roles.append(arguments[i + 1]); i += 2
            case "--unix-user":
                guard i + 1 < arguments.count else { return fail("--unix-user needs a value") }
                unixUser = arguments[i + 1]; i += 2
            case "--file":
                guard i + 1 < arguments.count else { return fail("--file needs a value") }
                file = arguments[i + 1]; i += 2
            case let other where other.hasPrefix("--"):
                return fail("unknown option \(other)")
            default:
                guard name == nil else { return fail("unexpected argument \(arguments[i])") }
                name = arguments[i]; i += 1
            }
        }
        guard let file else { return fail("--file is required") }
        var store = UserStore()
        do {
            let bytes = try BoundedFileReader.read(file, maxBytes: Gateway.maxUsersFileBytes)
            do { store = try UserStore(fileContents: bytes) } catch {
                return fail("users file \(file): \(error)")
            }
        } catch let error where error.code == .cannotOpen && error.errno == ENOENT && verb == "add" {
            // `users add` creates the file.
        } catch {
            return fail("cannot read users file \(error)")
        }
        switch verb {
        case "add":
            guard let name else { return fail("add needs a user name") }
            if roles.isEmpty { roles = ["user"] }
            let token: String
            do {
                token = try store.upsertUser(username: name, roles: roles)
                if let unixUser { try store.setUnixUser(unixUser, for: name) }
            } catch {
                return fail("\(error)")
            }
            guard write(store, to: file) else { return fail("cannot write \(file): \(String(cString: strerror(errno)))") }
            print(token)
        case "remove":
            guard let name else { return fail("remove needs a user name") }
            guard store.removeUser(name) else { return fail("no user \(name) in \(file)") }
            guard write(store, to: file) else { return fail("cannot write \(file): \(String(cString: strerror(errno)))") }
        case "list":
            for user in store.users {
                print("\(user.username)\t\(user.roles.joined(separator: ","))" + (user.unixUser.map { "\t\($0)" } ?? ""))
            }
        default:
            return fail("unknown verb \(verb)")
        }
        return 0
    }

    /// Writes to a temporary file beside the target (mode 0600), then renames it over the target.
    private static func write(_ store: UserStore, to path: String) -> Bool {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        let bytes = store.fileContents()
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        fchmod(fd, 0o600)
        close(fd)
        guard written == bytes.count, rename(temporary, path) == 0 else {
            unlink(temporary)
            return false
        }
        return true
    }

    private static func fail(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data("kernel-gateway users: \(message)\n\(usage)".utf8))
        return 2
    }
}
