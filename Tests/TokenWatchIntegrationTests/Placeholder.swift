import Testing
@testable import TokenWatch
