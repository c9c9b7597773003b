import Foundation
import TokenWatchModel
import TokenWatchStore

/// The mass-invalidation guard (SPEC.md "What check does", step 7): when a wave of pages that
/// were valid turns invalid at once, their digests are held, not sent — such a wave is more
/// often an incident at Meta or here than hundreds of admins changing passwords.
///
/// It counts the wave, not the run: every staged notification waits for the guard, whichever
/// run decided it, so a run killed mid-wave and the run that finishes it are judged together.
public struct MassInvalidationGuard: Sendable {
    /// At least this many pages…
    public var minimum: Int
    /// …and more than this percentage of the pages valid before the wave.
    public var percent: Double

    public init(minimum: Int, percent: Double) {
        self.minimum = minimum
        self.percent = percent
    }

    /// True when a wave of `wave` pages out of `validBefore` trips the guard.
    public func trips(wave: Int, validBefore: Int) -> Bool {
        wave >= minimum && Double(wave) * 100 > percent * Double(validBefore)
    }

    /// Judges the staged notifications and moves them on: pending, or held when the guard
    /// trips. Nil when nothing was staged.
    public func judge(_ database: any PageStore, actor: String, now: Date) async throws(StoreError) -> MassInvalidation?
    {
        let staged = try await database.stagedWave()
        guard staged.pages > 0 else { return nil }
        let held = trips(wave: staged.wave, validBefore: staged.validBefore)
        _ = try await database.promoteStaged(hold: held, actor: actor, now: now)
        return MassInvalidation(wave: staged.wave, validBefore: staged.validBefore, held: held)
    }
}
