import ArgumentParser
import TokenWatch
@main struct TokenWatchCommand: AsyncParsableCommand {}
