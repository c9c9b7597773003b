// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

/// Every part of the library: what the executables and the tests may import.
let libraryParts: [Target.Dependency] = [
    "TokenWatch", "TokenWatchModel", "TokenWatchSystem", "TokenWatchTemplates", "TokenWatchStore",
    "TokenWatchHTTP", "TokenWatchGraph", "TokenWatchMail", "TokenWatchReports", "TokenWatchCheck",
    "TokenWatchPostgres",
]

let package = Package(
    name: "TokenWatch",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tokenwatch", targets: ["tokenwatch"]),
        .library(name: "TokenWatch", targets: ["TokenWatch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
        // The integration tests run the built binary through it (TokenWatchBinary).
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        // The PostgreSQL store (TOKENWATCH_DB=postgres://…): the Swift Server Work Group's
        // client, with a connection pool, and NIOSSL for `sslmode`.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // libcurl through typed static-inline wrappers: curl_easy_setopt and friends are
        // variadic and Swift cannot call them. curl.h lives in this one module only.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // libxlsxwriter for the auditors' spreadsheet (the xlsx beside the CSV report).
        .systemLibrary(
            name: "CXLSX",
            pkgConfig: "xlsxwriter",
            providers: [.apt(["libxlsxwriter-dev"])]
        ),
        // One target per part, so the arrows that must never exist do not compile
        // (docs/ARCHITECTURE.md): Model knows nothing of ours; Store never knows the network;
        // Graph never knows Store; Reports render a plain value and never ask Graph or Store.
        .target(name: "TokenWatchModel", swiftSettings: strict),
        // Files written atomically and blocking work kept off the cooperative pool.
        .target(name: "TokenWatchSystem", swiftSettings: strict),
        .target(
            name: "TokenWatchTemplates",
            dependencies: [.product(name: "Mustache", package: "swift-mustache")],
            resources: [.embedInCode("Templates")],
            swiftSettings: strict
        ),
        .target(
            name: "TokenWatchStore",
            dependencies: [
                "TokenWatchModel",
                "TokenWatchSystem",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // The same store on PostgreSQL: one more implementation of `PageStore`, so that only
        // this target knows postgres-nio.
        .target(
            name: "TokenWatchPostgres",
            dependencies: [
                "TokenWatchModel",
                "TokenWatchStore",
                "TokenWatchSystem",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TokenWatchHTTP",
            dependencies: ["CCurl", "TokenWatchModel"],
            swiftSettings: strict
        ),
        .target(
            name: "TokenWatchGraph",
            dependencies: [
                "TokenWatchModel",
                "TokenWatchHTTP",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TokenWatchMail",
            dependencies: [
                "TokenWatchModel",
                "TokenWatchSystem",
                "TokenWatchTemplates",
                "TokenWatchHTTP",
                "TokenWatchStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TokenWatchReports",
            dependencies: ["CXLSX", "TokenWatchModel", "TokenWatchSystem", "TokenWatchTemplates"],
            swiftSettings: strict
        ),
        .target(
            name: "TokenWatchCheck",
            dependencies: [
                "TokenWatchModel",
                "TokenWatchGraph",
                "TokenWatchStore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The app layer the commands call: orchestration and configuration; throws typed
        // errors, never exits.
        .target(
            name: "TokenWatch",
            dependencies: [
                "TokenWatchModel",
                "TokenWatchSystem",
                "TokenWatchTemplates",
                "TokenWatchStore",
                "TokenWatchPostgres",
                "TokenWatchHTTP",
                "TokenWatchGraph",
                "TokenWatchMail",
                "TokenWatchReports",
                "TokenWatchCheck",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "GraphSimulator",
            dependencies: [
                .product(name: "FlyingFox", package: "FlyingFox"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // `tokenwatch demo`: sample data, the simulator in-process, the real check pipeline.
        .target(
            name: "TokenWatchDemo",
            dependencies: libraryParts + [
                "GraphSimulator",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "tokenwatch",
            dependencies: libraryParts + [
                "TokenWatchDemo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "tokenwatch-bench",
            dependencies: libraryParts + [
                "CCurl",
                "GraphSimulator",
                "TokenWatchDemo",
                // PostgresServer: the shard benchmark's throw-away PostgreSQL.
                "TokenWatchTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The Graph simulator as a process of its own, for the end-to-end benchmark.
        .executableTarget(
            name: "tokenwatch-sim",
            dependencies: ["GraphSimulator"],
            swiftSettings: strict
        ),
        // What both test targets share: a temporary directory per test, a clock that never waits,
        // a PostgreSQL server started by the tests.
        .target(
            name: "TokenWatchTestSupport",
            dependencies: [
                "TokenWatchSystem",  // BlockingWork: PythonScript waits for python3 off the pool.
                // PostgresServer runs initdb, pg_ctl and psql through it.
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TokenWatchTests",
            dependencies: libraryParts + ["TokenWatchTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TokenWatchIntegrationTests",
            dependencies: libraryParts + [
                "TokenWatchTestSupport",
                "GraphSimulator",
                "TokenWatchDemo",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            exclude: ["Support/smtp_sink.py"],
            swiftSettings: strict
        ),
    ]
)
