// swift-tools-version:6.0
import PackageDescription

// Gatehouse: Foundation plus system C libraries only (OpenSSL 3, libxml2, SQLite 3, zlib, libpq). No Swift package
// dependencies. Each target is a layer; imports only point down (see README "Architecture").
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "Gatehouse",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gatehouse", targets: ["gatehouse"])
    ],
    targets: [
        // C layer: system libraries (modulemap + shim.h) and one small C shim of our own.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // PostgreSQL's client library, for the scale-out store backend (`store.backend: postgres`).
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "CShims"),

        .target(name: "GatehouseCore", swiftSettings: strict),
        .target(name: "Crypto", dependencies: ["GatehouseCore", "COpenSSL"], swiftSettings: strict),
        .target(name: "Compression", dependencies: ["GatehouseCore", "CZlib"], swiftSettings: strict),
        // JWS compact verification, JWK → OpenSSL keys, ID-token rules (OpenID Connect), next to `Crypto`.
        .target(name: "JOSE", dependencies: ["Crypto", "GatehouseCore"], swiftSettings: strict),
        .target(name: "XML", dependencies: ["GatehouseCore", "Crypto", "CLibXML2"], swiftSettings: strict),
        .target(name: "SAML", dependencies: ["XML", "Crypto", "Compression", "GatehouseCore"], swiftSettings: strict),
        .target(name: "HTTP", dependencies: ["GatehouseCore"], swiftSettings: strict),
        .target(name: "Server", dependencies: ["HTTP", "GatehouseCore", "CShims", "COpenSSL"], swiftSettings: strict),
        .target(name: "Web", dependencies: ["HTTP", "GatehouseCore", "Crypto"], swiftSettings: strict),
        .target(name: "Net", dependencies: ["GatehouseCore", "CShims", "COpenSSL"], swiftSettings: strict),
        .target(name: "Mail", dependencies: ["Net", "GatehouseCore"], swiftSettings: strict),
        .target(name: "Store", dependencies: ["GatehouseCore", "CSQLite", "CLibPQ"], swiftSettings: strict),
        .target(name: "TenantDomain", dependencies: ["GatehouseCore"], swiftSettings: strict),
        // What the gateway needs from a region: the protocol, the caller, the DTOs, invite tokens, identity signing,
        // the internal endpoints. The gateway imports this, never `Tenant` (the region's implementation).
        .target(
            name: "TenantAPI", dependencies: ["TenantDomain", "Crypto", "HTTP", "Web", "GatehouseCore"],
            swiftSettings: strict),
        .target(
            name: "Tenant",
            dependencies: [
                "TenantAPI", "TenantDomain", "Store", "Mail", "Web", "HTTP", "Crypto", "Compression", "GatehouseCore",
            ],
            swiftSettings: strict),
        .target(
            name: "Gateway",
            dependencies: [
                "TenantAPI", "Net", "SAML", "JOSE", "TenantDomain", "Store", "Mail", "Web", "HTTP", "Crypto",
                "GatehouseCore",
            ],
            swiftSettings: strict),
        // Pages: sign-in, invite links, SSO sign-in, the org and region consoles. Above the gateway, beside nothing.
        .target(
            name: "Console",
            dependencies: [
                "Gateway", "TenantAPI", "SAML", "JOSE", "TenantDomain", "Web", "HTTP", "Crypto", "GatehouseCore",
            ],
            swiftSettings: strict),
        .target(
            name: "App",
            dependencies: [
                "Server", "Web", "Mail", "Net", "Store", "Crypto", "HTTP", "GatehouseCore", "Tenant", "TenantAPI",
                "TenantDomain", "Gateway", "Console",
            ],
            swiftSettings: strict),
        // Test support (never linked into the server): the in-memory client, the header-trusting caller, one spawner.
        .target(
            name: "GatehouseTesting",
            dependencies: [
                "Web", "HTTP", "Tenant", "TenantAPI", "TenantDomain", "SAML", "XML", "Store", "Crypto", "GatehouseCore",
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "gatehouse",
            dependencies: [
                "App", "Gateway", "Server", "HTTP", "SAML", "JOSE", "Crypto", "GatehouseCore", "TenantDomain",
            ],
            swiftSettings: strict),

        .executableTarget(
            name: "TenantBench",
            dependencies: ["TenantAPI", "GatehouseTesting", "Tenant", "TenantDomain", "Web", "HTTP", "GatehouseCore"],
            path: "Tests/Benchmarks/TenantBench"),

        .executableTarget(
            name: "ConsoleBench",
            dependencies: [
                "Console",
                "TenantAPI", "GatehouseTesting", "App", "Tenant", "TenantDomain", "Web", "HTTP", "GatehouseCore",
            ],
            path: "Tests/Benchmarks/ConsoleBench"),
        .executableTarget(name: "SAMLBench", dependencies: ["SAML", "Crypto"], path: "Tests/Benchmarks/SAMLBench"),
        .executableTarget(
            name: "BenchSeed",
            dependencies: ["TenantAPI", "App", "Tenant", "TenantDomain", "GatehouseCore"],
            path: "Tests/Benchmarks/BenchSeed"),

        .testTarget(name: "HTTPTests", dependencies: ["HTTP", "GatehouseCore"]),
        .testTarget(
            name: "WebTests",
            dependencies: ["TenantAPI", "GatehouseTesting", "Web", "HTTP", "App", "Crypto", "GatehouseCore"]),
        .testTarget(
            name: "ServerTests",
            dependencies: ["TenantAPI", "GatehouseTesting", "Server", "App", "Web", "HTTP", "GatehouseCore"]),
        .testTarget(
            name: "NetTests", dependencies: ["Net", "Server", "Web", "HTTP", "GatehouseTesting", "GatehouseCore"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "GatehouseCore"]),
        .testTarget(name: "TenantDomainTests", dependencies: ["TenantDomain", "GatehouseCore"]),
        .testTarget(
            name: "TenantTests",
            dependencies: [
                "TenantAPI",
                "GatehouseTesting", "Tenant", "TenantDomain", "Store", "Web", "HTTP", "Crypto", "GatehouseCore",
            ]),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Console",
                "TenantAPI",
                "GatehouseTesting", "Gateway", "SAML", "XML", "Compression", "App", "Server", "Net", "Mail", "Tenant",
                "TenantDomain", "Store", "Web", "HTTP", "Crypto", "GatehouseCore", "JOSE",
            ]),
        .testTarget(
            name: "SAMLTests",
            dependencies: ["GatehouseTesting", "SAML", "XML", "Crypto", "Compression", "GatehouseCore"]),
        .testTarget(name: "MailTests", dependencies: ["GatehouseTesting", "Mail", "GatehouseCore"]),
        .testTarget(name: "LibraryTests", dependencies: ["Crypto", "Compression", "XML", "GatehouseCore"]),
        .testTarget(name: "JOSETests", dependencies: ["GatehouseTesting", "JOSE", "Crypto", "GatehouseCore"]),
    ]
)
