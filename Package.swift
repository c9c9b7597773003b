// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

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
    ],
    targets: [
        // libcurl through typed static-inline wrappers: curl_easy_setopt and friends are
        // variadic and Swift cannot call them. curl.h lives in this one module only.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(
            name: "TokenWatch",
            dependencies: [
                "CCurl",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            resources: [.embedInCode("Templates")],
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
            dependencies: [
                "TokenWatch",
                "GraphSimulator",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "tokenwatch",
            dependencies: [
                "TokenWatch",
                "TokenWatchDemo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "tokenwatch-bench",
            dependencies: [
                "TokenWatch",
                "GraphSimulator",
                "TokenWatchDemo",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // What both test targets share: a temporary directory per test, a clock that never waits.
        .target(
            name: "TokenWatchTestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "TokenWatchTests",
            dependencies: ["TokenWatch", "TokenWatchTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TokenWatchIntegrationTests",
            dependencies: [
                "TokenWatch",
                "TokenWatchTestSupport",
                "GraphSimulator",
                "TokenWatchDemo",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Support/smtp_sink.py"],
            swiftSettings: strict
        ),
    ]
)
