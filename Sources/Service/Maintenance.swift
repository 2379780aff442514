import Foundation
import Logging
import ServiceLifecycle
import Store

/// Housekeeping while the server runs: deletes videos older than the retention period (their
/// inputs, result and captions; the row stays for usage), and sweeps temporary files that killed
/// writers left in the blob directory, so nothing waits for a restart to be cleaned.
struct Maintenance: Service {
    let store: any DataStore
    let blobs: any BlobStorage
    /// Finished videos older than this are deleted; nil keeps them.
    let retention: TimeInterval?
    let logger: Logger
    var interval: Duration = .seconds(60)

    func run() async throws {
        let stopping = Flag()
        await withGracefulShutdownHandler {
            while !stopping.isSet && !Task.isCancelled {
                await sweepOnce()
                // In one-second steps, so that a shutdown does not wait for the interval.
                let end = ContinuousClock.now + interval
                while ContinuousClock.now < end && !stopping.isSet && !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        } onGracefulShutdown: {
            stopping.set()
        }
    }

    /// One pass; what it removed.
    @discardableResult
    func sweepOnce() async -> (videos: Int, partials: Int) {
        var deleted = 0
        if let retention {
            do {
                let cutoff = Date(timeIntervalSinceNow: -retention)
                while true {
                    let batch = try await store.expiredVideos(finishedBefore: cutoff, limit: 100)
                    for job in batch {
                        if let (old, done) = try await store.deleteVideo(job.id, keyID: job.keyID), done {
                            VideoFiles.remove(old, from: blobs)
                            deleted += 1
                        }
                    }
                    if batch.count < 100 { break }
                }
            } catch {
                logger.warning("retention sweep stopped: \(error)")
            }
        }
        // A live writer touches its temporary file all the time; one untouched for 15 minutes is
        // a dead writer's.
        let partials = blobs.sweepPartials(olderThan: 900) + BodyReader.sweepSpools(olderThan: 900)
        if deleted > 0 || partials > 0 {
            logger.info(
                "housekeeping",
                metadata: [
                    "videos_expired": .stringConvertible(deleted), "partials_removed": .stringConvertible(partials),
                ])
        }
        return (deleted, partials)
    }
}

/// The files of a video: its inputs, its result and the result's captions.
enum VideoFiles {
    static func remove(_ job: VideoJob, from blobs: any BlobStorage) {
        // A composition's files are listed in its spec.
        let composed = (try? JobSpec.decode(job.options))?.blobs ?? []
        for id in [job.imageBlob, job.audioBlob, job.resultBlob ?? ""] + composed where !id.isEmpty {
            blobs.remove(id)
        }
    }
}
