@testable import Coordinator
import Foundation
import Testing

/// The coordinator's background queue: a stopping event loop waits while `isBusy`, so an
/// outcome that has not been taken yet must count, or its reply would never be sent.
@Suite struct BackgroundWorkTests {
    @Test func busyUntilOutcomeTaken() {
        let work = BackgroundWork<Int>(label: "stdnet.test.background-work")
        work.run { 7 }
        // The step returns at once; half a second later its outcome is all that is left.
        Thread.sleep(forTimeInterval: 0.5)
        #expect(work.isBusy)
        #expect(work.takeFinished() == [7])
        #expect(!work.isBusy)
    }
}
