enum DirectLoad { static func run(_ s: LoadSession) -> LoadReport { LoadReport() } }
enum ClientCodecSelfTest { static func run() -> Int32 { 0 } }
