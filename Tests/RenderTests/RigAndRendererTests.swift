import Face
import Media
import Motion
import MouthpieceCore
import TestSupport
import XCTest

@testable import Render

final class RigAndRendererTests: XCTestCase {
    /// A fixture cropped to even sides (frames are YUV 4:2:0) and its chosen face's landmarks.
    func landmarks(_ fixture: String) throws -> (RGBImage, FaceLandmarks) {
        let decoded = try ImageDecoder.decode(path: try TestFiles.fixture(fixture))
        let image = decoded.cropped(x: 0, y: 0, width: decoded.width & ~1, height: decoded.height & ~1)
        let analysis = try FaceAnalyzer(models: FaceModels.shared()).analyze(image)
        return (image, analysis.landmarks)
    }

    /// Samples (in all three planes) that differ between two frames, optionally only outside a
    /// luma region.
    static func differingSamples(
        _ a: YUVImage, _ b: YUVImage, outside r: (x0: Int, y0: Int, x1: Int, y1: Int)? = nil
    ) -> Int {
        precondition(a.width == b.width && a.height == b.height)
        var count = 0
        for (pa, pb, scale) in [(a.y, b.y, 1), (a.u, b.u, 2), (a.v, b.v, 2)] {
            let w = a.width / scale
            for i in pa.indices where pa[i] != pb[i] {
                if let r {
                    let (x, y) = ((i % w) * scale, (i / w) * scale)
                    if x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1 { continue }
                }
                count += 1
            }
        }
        return count
    }

    func testDelaunayTilesTheConvexHull() {
        var random = SeededRandom(seed: 3)
        var points = [Point(0, 0), Point(100, 0), Point(100, 80), Point(0, 80)]
        for _ in 0..<60 { points.append(Point(random.uniform(1...99), random.uniform(1...79))) }
        let triangles = Delaunay.triangulate(points)
        let area = triangles.reduce(0.0) { $0 + Delaunay.area(points[$1.0], points[$1.1], points[$1.2]) }
        XCTAssertEqual(area, 8000, accuracy: 1e-6)
        XCTAssertTrue(triangles.allSatisfy { Delaunay.area(points[$0.0], points[$0.1], points[$0.2]) > 0 })
        XCTAssertEqual(triangles.count, 2 * points.count - 2 - 4)
    }

    func testThePortraitsOwnMouthReproducesThePortraitExactly() throws {
        for fixture in ["2008_001009.jpg", "Tom_Cruise_avp_2014_4.jpg"] {
            let (image, face) = try landmarks(fixture)
            for portrait in [nil, image] {
                let rig = FaceRig(
                    landmarks: face, frameWidth: image.width, frameHeight: image.height, portrait: portrait)
                let renderer = FrameRenderer(base: image, rig: rig)
                var frame = renderer.makeFrame()
                renderer.render(FaceMotion(mouth: rig.portraitMouth), into: &frame)
                XCTAssertEqual(Self.differingSamples(frame, renderer.base), 0, fixture)
            }
        }
    }

    func testAMouthOpenAtRestClosesByWarpingWithNoToothBetweenTheLips() throws {
        let (image, face) = try landmarks("Tom_Cruise_avp_2014_4.jpg")
        let rig = FaceRig(landmarks: face, frameWidth: image.width, frameHeight: image.height, portrait: image)
        XCTAssertTrue(rig.mouthOpenAtRest)
        // The traced opening is the teeth's height, about what dlib's inner points say there.
        XCTAssertEqual(rig.restOpening, face.innerLipGap, accuracy: face.innerLipGap * 0.3)
        let renderer = FrameRenderer(base: image, rig: rig)
        var frame = renderer.makeFrame()
        renderer.render(FaceMotion(), into: &frame)
        let closed = rig.deform(FaceMotion())
        // Along the line where the lips now meet, nothing is as bright as the teeth were.
        let teeth = renderer.base.meanLuma(
            in: Rect(x: face[62].x - 3, y: face[62].lerp(to: face[66], 0.5).y, width: 6, height: 4))
        for i in [61, 62, 63] {
            let meet = closed[i]
            let now = frame.meanLuma(in: Rect(x: meet.x - 2, y: meet.y - 1, width: 4, height: 3))
            XCTAssertLessThan(now, teeth - 40, "at \(i): \(now) vs teeth \(teeth)")
        }
        // The lips touch: the opening is gone, and the chin came up with the jaw.
        XCTAssertLessThan(closed[66].y - closed[62].y, 0.5)
        XCTAssertLessThan(closed[8].y, face[8].y - rig.restOpening * 0.5)
        // Half the portrait's opening shows half its teeth: the lower lip rises over them.
        let half = rig.portraitMouth
        let partly = rig.deform(FaceMotion(mouth: MouthShape(jawOpen: half.jawOpen / 2, lipGap: half.lipGap / 2)))
        XCTAssertEqual(partly[66].y - partly[62].y, rig.restOpening / 2, accuracy: rig.restOpening * 0.15)
    }

    func testOpenMouthChangesTheMouthAndNothingOutsideTheFace() throws {
        let (image, face) = try landmarks("2008_001009.jpg")
        let rig = FaceRig(landmarks: face, frameWidth: image.width, frameHeight: image.height)
        // She smiles with her teeth showing: the rig keeps them on the upper jaw.
        XCTAssertTrue(rig.mouthOpenAtRest)
        let renderer = FrameRenderer(base: image, rig: rig)
        var frame = renderer.makeFrame()
        renderer.render(FaceMotion(mouth: MouthShape(jawOpen: 1, lipGap: 1, spread: 0), blink: 1), into: &frame)
        let r = renderer.animatedRegion
        XCTAssertEqual(Self.differingSamples(frame, renderer.base, outside: r), 0)
        XCTAssertGreaterThan(Self.differingSamples(frame, renderer.base), 1000)
        // The animated region stays near the face: well under the whole picture.
        XCTAssertLessThan((r.x1 - r.x0) * (r.y1 - r.y0), image.width * image.height / 3)
        // Below the teeth, where the lower lip was, it is now dark.
        let open = rig.deform(FaceMotion(mouth: MouthShape(jawOpen: 1, lipGap: 1, spread: 0)))
        let below = face[66].lerp(to: open[66], 0.5)
        let before = renderer.base.meanLuma(in: Rect(x: below.x - 2, y: below.y - 2, width: 4, height: 4))
        let after = frame.meanLuma(in: Rect(x: below.x - 2, y: below.y - 2, width: 4, height: 4))
        XCTAssertLessThan(after, before - 15)
        // The other face in the photo is untouched.
        let analysis = try FaceAnalyzer(models: FaceModels.shared()).analyze(image)
        let other = analysis.faces[1 - analysis.chosenIndex].box
        for y in max(0, Int(other.minY))..<min(image.height, Int(other.maxY)) {
            for x in max(0, Int(other.minX))..<min(image.width, Int(other.maxX))
            where x >= r.x1 || y < r.y0 || x < r.x0 || y >= r.y1 {
                XCTAssertEqual(frame.y[y * image.width + x], renderer.base.y[y * image.width + x])
            }
        }
    }

    func testClosedMouthOpensOntoPaintedTeethAndCavity() throws {
        let decoded = try ImageDecoder.decode(path: try TestFiles.fixture("bald_guys.jpg"))
        let image = decoded.cropped(x: 0, y: 0, width: decoded.width & ~1, height: decoded.height & ~1)
        let faces = try FaceAnalyzer(models: FaceModels.shared()).analyze(image).faces
        let rigs = faces.map {
            FaceRig(landmarks: $0.landmarks, frameWidth: image.width, frameHeight: image.height, portrait: image)
        }
        // The collage holds both kinds of mouth; the pixels tell them apart.
        XCTAssertTrue(rigs.contains { $0.mouthOpenAtRest })
        let rig = try XCTUnwrap(rigs.first { !$0.mouthOpenAtRest })
        let renderer = FrameRenderer(base: image, rig: rig)
        var frame = renderer.makeFrame()
        renderer.render(FaceMotion(), into: &frame)
        XCTAssertEqual(Self.differingSamples(frame, renderer.base), 0, "rest pose is the portrait")
        let open = rig.deform(FaceMotion(mouth: MouthShape(jawOpen: 1, lipGap: 1, spread: 0)))
        renderer.render(FaceMotion(mouth: MouthShape(jawOpen: 1, lipGap: 1, spread: 0)), into: &frame)
        // Just under the upper lip: teeth, brighter than the cavity further down.
        let top = open[62]
        let bottom = open[66]
        let teeth = frame.meanLuma(in: Rect(x: top.x - 1, y: top.y + 1, width: 3, height: 2))
        let cavity = frame.meanLuma(in: Rect(x: top.x - 1, y: top.lerp(to: bottom, 0.6).y, width: 3, height: 2))
        XCTAssertGreaterThan(teeth, cavity + 30, "teeth \(teeth) vs cavity \(cavity)")
    }

    /// Luma along the row `y` from `x0` to `x1`.
    static func row(_ frame: YUVImage, y: Int, from x0: Int, to x1: Int) -> [Double] {
        (x0..<x1).map { Double(frame.y[y * frame.width + $0]) }
    }

    func testTeethAreSeparateAndStayWithTheirJaws() throws {
        let (image, marks) = try landmarks("portraits/man_neutral_frontal.jpg")
        let rig = FaceRig(landmarks: marks, frameWidth: image.width, frameHeight: image.height, portrait: image)
        XCTAssertFalse(rig.mouthOpenAtRest)
        let renderer = FrameRenderer(base: image, rig: rig)
        let mouthWidth = marks.mouthWidth
        let middle = marks[62].lerp(to: marks[66], 0.5)
        // The upper teeth's biting edge: the last bright row going down the middle of the mouth.
        func upperEdge(_ shape: MouthShape) -> (edge: Int, frame: YUVImage) {
            var frame = renderer.makeFrame()
            renderer.render(FaceMotion(mouth: shape), into: &frame)
            let points = rig.deform(FaceMotion(mouth: shape))
            let x = Int(middle.x + 0.085 * mouthWidth)  // the middle of a central incisor
            // The end of the first run of tooth below the upper lip: bright and nearly grey (lips
            // are red).
            func tooth(_ y: Int) -> Bool {
                let red = Int(frame.v[(y / 2) * frame.chromaWidth + x / 2]) - 128
                return frame.y[y * frame.width + x] > 110 && red < 14
            }
            var y = Int(points[62].y)
            while y < Int(points[66].y) && !tooth(y) { y += 1 }
            while y < Int(points[66].y) && tooth(y) { y += 1 }
            return (y - 1, frame)
        }
        let wide = upperEdge(MouthShape(jawOpen: 1.1, lipGap: 1.1))
        let middling = upperEdge(MouthShape(jawOpen: 0.6, lipGap: 1.1))
        // The upper teeth hang from the head: the jaw's drop leaves their edge where it was.
        XCTAssertEqual(Double(wide.edge), Double(middling.edge), accuracy: 1.5)
        // ... a little below where the lips met at rest (between the middle and the next points).
        let meeting = (marks[62].lerp(to: marks[66], 0.5), marks[63].lerp(to: marks[65], 0.5))
        let x = middle.x + 0.085 * mouthWidth
        let restLine = meeting.0.y + (meeting.1.y - meeting.0.y) * (x - meeting.0.x) / (meeting.1.x - meeting.0.x)
        XCTAssertGreaterThan(Double(wide.edge) - restLine, 0.01 * mouthWidth)
        XCTAssertLessThan(Double(wide.edge) - restLine, 0.05 * mouthWidth)
        // Along a row through the upper teeth, bright teeth alternate with dark gaps: at least the
        // two central incisors and the laterals beside them, not one band.
        let y = wide.edge - Int(0.02 * mouthWidth)
        let row = Self.row(
            wide.frame, y: y, from: Int(middle.x - 0.3 * mouthWidth), to: Int(middle.x + 0.3 * mouthWidth))
        let peak = row.max() ?? 0
        var dips = 0
        var inDip = false
        for value in row {
            if !inDip && value < peak - 45 {
                dips += 1
                inDip = true
            } else if value > peak - 20 {
                inDip = false
            }
        }
        XCTAssertGreaterThanOrEqual(dips, 3, "gaps between teeth along \(row.map { Int($0) })")
        // The lower teeth ride the jaw: with the jaw lower, the first bright row above the lower
        // lip is lower too, by about the jaw's extra drop.
        func lowerTeethTop(_ frame: YUVImage, _ shape: MouthShape) -> Int {
            let points = rig.deform(FaceMotion(mouth: shape))
            let x = Int(middle.x + 0.05 * mouthWidth)
            var y = Int(points[66].y) - 1
            while y > Int(points[62].y) && frame.y[y * frame.width + x] > 90 { y -= 1 }
            return y
        }
        let drop =
            rig.lowerJawShift(MouthShape(jawOpen: 1.1, lipGap: 1.1))
            - rig.lowerJawShift(
                MouthShape(jawOpen: 0.6, lipGap: 1.1))
        let moved = Double(
            lowerTeethTop(wide.frame, MouthShape(jawOpen: 1.1, lipGap: 1.1))
                - lowerTeethTop(middling.frame, MouthShape(jawOpen: 0.6, lipGap: 1.1)))
        XCTAssertEqual(moved, drop, accuracy: max(2, 0.15 * drop))
    }

    func testAWideOpenMouthIsClosedBeforeAnimating() throws {
        let (image, marks) = try landmarks("portraits/woman_mouth_wide_open.jpg")
        XCTAssertGreaterThan(marks.innerLipGap / marks.mouthWidth, 0.3)
        let (base, rig, closed) = MouthCloser.rig(base: image, landmarks: marks)
        XCTAssertTrue(closed)
        XCTAssertFalse(rig.tooOpenToClose)
        // Found again from the pixels alone, the face's lips now meet.
        let again = try FaceAnalyzer(models: FaceModels.shared()).analyze(base).landmarks
        XCTAssertLessThan(again.innerLipGap / again.mouthWidth, 0.08, "\(again.innerLipGap) of \(again.mouthWidth)")
        // The jaw came up: the chin is higher than in the photo, by less than the gap was.
        XCTAssertLessThan(again[8].y, marks[8].y - 0.1 * marks.innerLipGap)
        XCTAssertGreaterThan(again[8].y, marks[8].y - marks.innerLipGap)
        // Above the nose and beyond the jaw's sides, nothing moved.
        let top = Int(marks[33].y) - 2
        XCTAssertEqual(Array(base.pixels[0..<(top * base.stride)]), Array(image.pixels[0..<(top * base.stride)]))
        for y in stride(from: top, to: image.height, by: 7) {
            for x in [0, 1, image.width - 2, image.width - 1] {
                XCTAssertTrue(base[x, y] == image[x, y], "moved at \(x), \(y)")
            }
        }
        // And it animates from there like a closed mouth: the rest pose is the closed picture.
        let renderer = FrameRenderer(base: base, rig: rig)
        var frame = renderer.makeFrame()
        renderer.render(FaceMotion(), into: &frame)
        XCTAssertEqual(Self.differingSamples(frame, renderer.base), 0)
    }

    /// A soft photo taken mid-word: dlib sees the lips apart, but no edge can be traced from the
    /// pixels to warp them by; it is closed before animating too.
    func testAMouthApartWithNoTraceableEdgeIsClosedToo() throws {
        let (image, marks) = try landmarks("portraits/man_mic_mouth_open.png")
        let (base, rig, closed) = MouthCloser.rig(base: image, landmarks: marks)
        XCTAssertTrue(closed)
        XCTAssertFalse(rig.mouthOpenAtRest, "the closed mouth animates as a closed one, teeth drawn")
        let before = marks.innerLipGap / marks.mouthWidth
        let again = try FaceAnalyzer(models: FaceModels.shared()).analyze(base).landmarks
        XCTAssertLessThan(again.innerLipGap / again.mouthWidth, 0.5 * before, "from \(before)")
    }

    /// The drawn mouth is no sharper than the photo: a soft photo's edges take longer to rise.
    func testTheInteriorIsAsSoftAsThePhoto() throws {
        let (sharp, sharpMarks) = try landmarks("portraits/man_neutral_frontal.jpg")
        let (soft, softMarks) = try landmarks("portraits/man_mic_mouth_open.png")
        let sharpWidth = MouthInterior.edgeWidth(sharp, around: sharpMarks)
        let softWidth = MouthInterior.edgeWidth(soft, around: softMarks)
        print("edge widths: sharp \(sharpWidth), soft \(softWidth)")
        XCTAssertLessThan(sharpWidth, softWidth)
        XCTAssertGreaterThan(MouthInterior(base: soft, landmarks: softMarks).softness, 1.5)
    }

    func testBlinkClosesTheEyes() throws {
        let (image, face) = try landmarks("Tom_Cruise_avp_2014_4.jpg")
        let rig = FaceRig(landmarks: face, frameWidth: image.width, frameHeight: image.height)
        let closed = rig.deform(FaceMotion(blink: 1))
        for (upper, lower) in [(37, 41), (38, 40), (43, 47), (44, 46)] {
            let open = face[lower].y - face[upper].y
            XCTAssertLessThan(closed[lower].y - closed[upper].y, open * 0.25)
        }
    }

    func testFramingCropsAroundTheFaceOrPads() throws {
        let (tall, tallFace) = try landmarks("Tom_Cruise_avp_2014_4.jpg")
        let landscape = Framing.plan(
            imageWidth: tall.width, imageHeight: tall.height, face: tallFace, resolution: .p720, aspect: .landscape)
        XCTAssertEqual([landscape.width, landscape.height], [1280, 720])
        XCTAssertEqual(landscape.mode, .pad, "a 16:9 crop of a tall close-up would cut the head")
        let base = landscape.baseFrame(from: tall)
        XCTAssertEqual([base.width, base.height], [1280, 720])

        let (wide, wideFace) = try landmarks("bald_guys.jpg")
        let portrait = Framing.plan(
            imageWidth: wide.width, imageHeight: wide.height, face: wideFace, resolution: .p1080, aspect: .portrait)
        XCTAssertEqual([portrait.width, portrait.height], [1080, 1920])
        XCTAssertEqual(portrait.mode, .crop)
        let faceBox = Rect.bounding(wideFace.points)
        XCTAssertTrue(portrait.source.contains(faceBox))

        let original = Framing.plan(
            imageWidth: tall.width, imageHeight: tall.height, face: tallFace, resolution: .p480, aspect: .original)
        XCTAssertEqual(original.width, 480)
        XCTAssertEqual(original.height, 680)
    }
}

final class HeadMotionRenderTests: XCTestCase {
    func testTurningMovesTheFeaturesButNotTheOutlineOrTheBackground() throws {
        let decoded = try ImageDecoder.decode(path: try TestFiles.fixture("Tom_Cruise_avp_2014_4.jpg"))
        let image = decoded.cropped(x: 0, y: 0, width: decoded.width & ~1, height: decoded.height & ~1)
        let face = try FaceAnalyzer(models: FaceModels.shared()).analyze(image).landmarks
        let rig = FaceRig(landmarks: face, frameWidth: image.width, frameHeight: image.height, portrait: image)
        let turn = FaceMotion(
            mouth: rig.portraitMouth, head: HeadMotion(yaw: 3 * .pi / 180, pitch: 1 * .pi / 180, roll: 0.5 * .pi / 180))
        let moved = rig.deform(turn)
        // The nose tip stands out most, so it moves most; the jaw outline stays.
        XCTAssertGreaterThan(moved[30].distance(to: face[30]), 3)
        XCTAssertGreaterThan(moved[30].distance(to: face[30]), moved[39].distance(to: face[39]))
        for j in 0...16 { XCTAssertEqual(moved[j], face[j]) }
        let renderer = FrameRenderer(base: image, rig: rig)
        var frame = renderer.makeFrame()
        renderer.render(turn, into: &frame)
        XCTAssertEqual(
            RigAndRendererTests.differingSamples(frame, renderer.base, outside: renderer.animatedRegion), 0)
        XCTAssertGreaterThan(RigAndRendererTests.differingSamples(frame, renderer.base), 10_000)
    }
}

final class BandedRenderTests: XCTestCase {
    /// A frame rendered in bands of rows on several threads is the same, byte for byte, as one
    /// rendered on one thread, frame after frame into the same buffer (the whole head moving).
    func testBandsOnSeveralThreadsRenderTheSameBytes() throws {
        let decoded = try ImageDecoder.decode(path: try TestFiles.fixture("Tom_Cruise_avp_2014_4.jpg"))
        let image = decoded.cropped(x: 0, y: 0, width: decoded.width & ~1, height: decoded.height & ~1)
        let face = try FaceAnalyzer(models: FaceModels.shared()).analyze(image).landmarks
        let rig = FaceRig(
            landmarks: face, frameWidth: image.width, frameHeight: image.height, portrait: image, wholeHead: true)
        let degree = Double.pi / 180
        let motions = (0..<6).map { (i: Int) -> FaceMotion in
            let head = HeadMotion(yaw: Double(i - 3) * degree, pitch: 0.5 * degree, roll: Double(i) * 0.2 * degree)
            let mouth: MouthShape = i % 2 == 0 ? .widest : .rest
            return FaceMotion(mouth: mouth, blink: i == 3 ? 1 : 0, head: head)
        }
        let single = FrameRenderer(base: image, rig: rig)
        XCTAssertGreaterThan(single.animatedRegion.y1 - single.animatedRegion.y0, 3 * 64, "too few rows for bands")
        var expected = single.makeFrame()
        var frames: [Int: YUVImage] = [:]
        for threads in [2, 3] {
            var banded = single
            banded.threads = threads
            frames[threads] = banded.makeFrame()
        }
        for motion in motions {
            single.render(motion, into: &expected)
            XCTAssertGreaterThan(RigAndRendererTests.differingSamples(expected, single.base), 1000)
            for threads in [2, 3] {
                var banded = single
                banded.threads = threads
                banded.render(motion, into: &frames[threads]!)
                XCTAssertEqual(
                    RigAndRendererTests.differingSamples(frames[threads]!, expected), 0, "\(threads) threads")
            }
        }
    }
}
