import Face
import Media
import MouthpieceCore
import TestSupport
import XCTest

final class FaceAnalyzerTests: XCTestCase {
    func analyze(_ path: String, faceIndex: Int? = nil) throws -> FaceAnalysis {
        try FaceAnalyzer(models: FaceModels.shared()).analyze(ImageDecoder.decode(path: path), faceIndex: faceIndex)
    }

    func testFindsOneFrontFacingFaceWithLandmarksInside() throws {
        let a = try analyze(try TestFiles.fixture("Tom_Cruise_avp_2014_4.jpg"))
        XCTAssertEqual(a.faces.count, 1)
        XCTAssertEqual(a.warnings, [])
        XCTAssertLessThan(abs(a.pose.yaw), 20)
        XCTAssertLessThan(abs(a.pose.roll), 15)
        let box = a.face.box.insetBy(dx: -a.face.box.width * 0.15, dy: -a.face.box.height * 0.15)
        for p in a.landmarks.points {
            XCTAssertTrue(box.contains(Rect(x: p.x, y: p.y, width: 0, height: 0)), "landmark \(p) outside the face")
        }
        // Eyes above the nose tip, the nose above the mouth, the mouth above the chin.
        let l = a.landmarks
        XCTAssertLessThan(l.leftEyeCenter.y, l[30].y)
        XCTAssertLessThan(l[30].y, l.mouthCenter.y)
        XCTAssertLessThan(l.mouthCenter.y, l[8].y)
        XCTAssertGreaterThan(l.interocular, 120)
    }

    func testPicksTheLargestOfSeveralFacesAndWarns() throws {
        let a = try analyze(try TestFiles.fixture("2008_001009.jpg"))
        XCTAssertEqual(a.faces.count, 2)
        XCTAssertTrue(a.warnings.contains(.multipleFaces))
        let largest = a.faces.indices.max { a.faces[$0].box.area < a.faces[$1].box.area }!
        XCTAssertEqual(a.chosenIndex, largest)
        let other = try analyze(try TestFiles.fixture("2008_001009.jpg"), faceIndex: 1 - largest)
        XCTAssertEqual(other.chosenIndex, 1 - largest)
        XCTAssertThrowsError(try analyze(try TestFiles.fixture("2008_001009.jpg"), faceIndex: 5)) { error in
            XCTAssertEqual((error as? MouthpieceError)?.code, .invalidParameter)
        }
    }

    /// A head tilted 40 degrees (beyond what the upright detector fits well) is found on the
    /// second look, with its landmarks where the face is and its own yaw.
    func testATiltedFaceIsFoundOnASecondLook() throws {
        let image = try ImageDecoder.decode(path: try TestFiles.fixture("Tom_Cruise_avp_2014_4.jpg"))
        let upright = try FaceAnalyzer(models: FaceModels.shared()).analyze(image)
        let angle = 40.0 * .pi / 180
        let tilted = try FaceAnalyzer(models: FaceModels.shared()).analyze(image.rotated(by: angle))
        XCTAssertEqual(tilted.pose.roll, upright.pose.roll + 40, accuracy: 6)
        // Where the upright eyes land in the tilted picture.
        let centre = Point(Double(image.width) / 2, Double(image.height) / 2)
        func turned(_ p: Point) -> Point {
            let d = p - centre
            return centre + Point(d.x * cos(angle) - d.y * sin(angle), d.x * sin(angle) + d.y * cos(angle))
        }
        let unit = upright.landmarks.interocular
        for (found, expected) in [
            (tilted.landmarks.leftEyeCenter, turned(upright.landmarks.leftEyeCenter)),
            (tilted.landmarks.rightEyeCenter, turned(upright.landmarks.rightEyeCenter)),
            (tilted.landmarks[57], turned(upright.landmarks[57])),
        ] {
            XCTAssertLessThan(found.distance(to: expected), 0.15 * unit, "\(found) vs \(expected)")
        }
        XCTAssertLessThan(abs(tilted.pose.yaw - upright.pose.yaw), 10)
    }

    func testDogsAreRefusedWithNoFaceDetected() throws {
        XCTAssertThrowsError(try analyze(try TestFiles.fixture("dogs.jpg"))) { error in
            XCTAssertEqual((error as? MouthpieceError)?.code, .noFaceDetected)
        }
    }

    func testSamplePortraitWarnsLowResolution() throws {
        let a = try analyze(try TestFiles.samplePortrait())
        XCTAssertEqual(a.faces.count, 1)
        XCTAssertEqual(a.warnings, [.lowResolution])
    }

    func testYawChangesSignWhenThePortraitIsMirrored() throws {
        var landmarks = try analyze(try TestFiles.fixture("2008_001009.jpg")).landmarks
        let yaw = FaceAnalyzer.pose(of: landmarks).yaw
        // Mirror: x -> -x, and the scheme's left/right indices swap.
        let mirrorIndex = FaceLandmarks.mirrorIndex
        let mirrored = landmarks.points.map { Point(-$0.x, $0.y) }
        landmarks = FaceLandmarks(points: (0..<68).map { mirrored[mirrorIndex[$0]] })
        let flipped = FaceAnalyzer.pose(of: landmarks).yaw
        XCTAssertGreaterThan(abs(yaw), 3)
        XCTAssertEqual(flipped, -yaw, accuracy: 0.5)
    }
}

final class FaceModelsTests: XCTestCase {
    /// Mouthpiece's fast reader of dlib's predictor file, and the cache made from it, must give
    /// exactly dlib's faces and landmarks.
    func testFastModelReaderAndCacheMatchDlibsOwn() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("mp-face-cache-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let dlibs = try FaceModels.load(path: FaceModels.defaultModelPath, fastReader: false, cacheDirectory: cache)
        XCTAssertEqual(dlibs.source, .dlibReader)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache + "/face-models-v1.bin"), "dlib's reader wrote it")
        let fast = try FaceModels.load(path: FaceModels.defaultModelPath, cacheDirectory: cache)
        XCTAssertEqual(fast.source, .fastReader, "the fast reader fell back to dlib's")
        let cached = try FaceModels.load(path: FaceModels.defaultModelPath, cacheDirectory: cache)
        XCTAssertEqual(cached.source, .cache, "the cache was not written or not read")
        for name in ["Tom_Cruise_avp_2014_4.jpg", "2008_001009.jpg", "bald_guys.jpg"] {
            let image = try ImageDecoder.decode(path: try TestFiles.fixture(name))
            let expected = try FaceAnalyzer(models: dlibs).analyze(image)
            for models in [fast, cached] {
                let actual = try FaceAnalyzer(models: models).analyze(image)
                XCTAssertEqual(actual.faces.count, expected.faces.count, "\(name) \(models.source)")
                for (a, e) in zip(actual.faces, expected.faces) {
                    XCTAssertEqual(a.box, e.box, "\(name) \(models.source)")
                    XCTAssertEqual(a.landmarks, e.landmarks, "\(name) \(models.source)")
                }
            }
        }
    }

    /// A cache made from another file, or cut short, is not used: the models load from the file
    /// and the cache is made again.
    func testStaleOrDamagedCacheIsRebuilt() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("mp-face-cache-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let file = cache + "/face-models-v1.bin"
        _ = try FaceModels.load(path: FaceModels.defaultModelPath, cacheDirectory: cache)
        let whole = try Data(contentsOf: URL(fileURLWithPath: file))
        // Cut short.
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: file))
        XCTAssertEqual(
            try FaceModels.load(path: FaceModels.defaultModelPath, cacheDirectory: cache).source, .fastReader)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: file)).count, whole.count, "not rebuilt")
        // Made from another copy of the model (another path).
        let copy = cache + "/copy.dat"
        try FileManager.default.copyItem(atPath: FaceModels.defaultModelPath, toPath: copy)
        XCTAssertEqual(try FaceModels.load(path: copy, cacheDirectory: cache).source, .fastReader)
        XCTAssertEqual(try FaceModels.load(path: copy, cacheDirectory: cache).source, .cache)
        // An unwritable place: no cache, and no error.
        XCTAssertEqual(
            try FaceModels.load(path: FaceModels.defaultModelPath, cacheDirectory: "/proc/no-such-cache").source,
            .fastReader)
    }

    func testMissingModelFileIsModelUnavailable() {
        XCTAssertThrowsError(try FaceModels.load(path: "/nonexistent/model.dat")) { error in
            XCTAssertEqual((error as? MouthpieceError)?.code, .modelUnavailable)
        }
    }
}

final class FaceTrackTests: XCTestCase {
    /// A face moving fast across the frame with a pixel or two of jitter, whose mouth snaps open
    /// at frame 20: smoothing takes most of the jitter out, adds no lag to the motion, and keeps
    /// the mouth's snap.
    func testSmoothingRemovesJitterWithoutLagAndKeepsRealChanges() throws {
        let portrait = try ImageDecoder.decode(path: try TestFiles.fixture("Tom_Cruise_avp_2014_4.jpg"))
        let base = try FaceAnalyzer(models: try FaceModels.shared()).analyze(portrait).landmarks
        var random = SeededRandom(seed: 7)
        var truth: [FaceLandmarks] = []
        var noisy: [TrackedFace?] = []
        for n in 0..<40 {
            // 6 px a frame to the right, and a turn of a few degrees over the clip.
            let angle = Double(n) * 0.004
            let moved = base.mapped { p in
                let d = p - base[30]
                return base[30] + Point(d.x * cos(angle) - d.y * sin(angle), d.x * sin(angle) + d.y * cos(angle))
                    + Point(Double(n) * 6, 0)
            }
            var real = moved
            if n >= 20 { for i in [56, 57, 58, 65, 66, 67] { real[i] = real[i] + Point(0, 14) } }
            truth.append(real)
            let jittered = real.mapped { $0 + Point(random.uniform(-1.5...1.5), random.uniform(-1.5...1.5)) }
            noisy.append(TrackedFace(landmarks: jittered, pose: HeadPose(yaw: 0, roll: 0), usable: true))
        }
        let smoothed = FaceTrack(frames: noisy).smoothed()
        var (rawError, smoothError, along) = (0.0, 0.0, 0.0)
        var count = 0.0
        for n in 4..<36 {
            let s = try XCTUnwrap(smoothed.frames[n]).landmarks
            let r = try XCTUnwrap(noisy[n]).landmarks
            for i in 0..<68 {
                rawError += r[i].distance(to: truth[n][i])
                smoothError += s[i].distance(to: truth[n][i])
                along += s[i].x - truth[n][i].x
                count += 1
            }
        }
        XCTAssertLessThan(
            smoothError, 0.7 * rawError, "jitter reduced (\(smoothError / count) vs \(rawError / count) px)")
        XCTAssertLessThan(abs(along / count), 0.3, "no lag behind the motion")
        // The mouth's snap is kept: frame 20's lower lip is nearly all the way down.
        let snapped = try XCTUnwrap(smoothed.frames[20]).landmarks
        XCTAssertGreaterThan(snapped[66].y - (truth[20][66].y - 14), 11)
    }

    func testATrackSurvivesBeingStoredAndGarbageIsNotATrack() throws {
        let points = (0..<68).map { Point(Double($0) * 1.25, 300 - Double($0) * 0.5) }
        let face = TrackedFace(
            landmarks: FaceLandmarks(points: points), pose: HeadPose(yaw: -12.5, roll: 3), usable: true)
        let turned = TrackedFace(
            landmarks: FaceLandmarks(points: points), pose: HeadPose(yaw: 50, roll: 0), usable: false)
        let track = FaceTrack(frames: [face, nil, turned, face])
        let bytes = track.serialized()
        let back = try XCTUnwrap(FaceTrack(serialized: bytes))
        XCTAssertEqual(back.frames, track.frames)
        XCTAssertNil(FaceTrack(serialized: Array(bytes.dropLast())), "truncated")
        XCTAssertNil(FaceTrack(serialized: Array("not a face track at all".utf8)))
    }
}
