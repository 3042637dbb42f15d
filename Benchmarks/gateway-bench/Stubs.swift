enum DirectLoad { static func run(_ s: LoadSession) -> LoadReport { LoadReport() } }
enum FanoutLoad { static func run(_ s: LoadSession) -> LoadReport { LoadReport() } }
enum StartLoad { static func run(_ s: LoadSession) -> LoadReport { LoadReport() } }
enum ConnectionsLoad { static func run(_ s: LoadSession) -> LoadReport { LoadReport() } }
enum StreamLoad { static func run(_ s: LoadSession) -> LoadReport { LoadReport() } }
enum ClientCodecSelfTest { static func run() -> Int32 { 0 } }
