import Face
import MouthpieceCore

/// Draws the face analysis onto a picture: every face's box, the chosen face's landmarks, and
/// the rig's mesh. For `mouthpiece inspect`.
public enum Overlay {
    public static func draw(analysis: FaceAnalysis, on image: RGBImage, rig: FaceRig?) -> RGBImage {
        var out = image
        let thickness = max(1, min(image.width, image.height) / 400)
        if let rig {
            for t in rig.triangles {
                let p = [rig.rest[t.0], rig.rest[t.1], rig.rest[t.2]]
                for k in 0..<3 { line(&out, p[k], p[(k + 1) % 3], colour: (70, 200, 255), thickness: 0) }
            }
        }
        for (i, face) in analysis.faces.enumerated() {
            let colour: (UInt8, UInt8, UInt8) = i == analysis.chosenIndex ? (60, 230, 90) : (240, 180, 40)
            let b = face.box
            let corners = [Point(b.minX, b.minY), Point(b.maxX, b.minY), Point(b.maxX, b.maxY), Point(b.minX, b.maxY)]
            for k in 0..<4 { line(&out, corners[k], corners[(k + 1) % 4], colour: colour, thickness: thickness) }
        }
        for p in analysis.landmarks.points { dot(&out, p, radius: thickness + 1, colour: (255, 40, 40)) }
        return out
    }

    static func line(
        _ image: inout RGBImage, _ a: Point, _ b: Point, colour: (UInt8, UInt8, UInt8), thickness: Int
    ) {
        let steps = max(1, Int(max(abs(b.x - a.x), abs(b.y - a.y)).rounded(.up)))
        for s in 0...steps {
            let p = a.lerp(to: b, Double(s) / Double(steps))
            dot(&image, p, radius: thickness, colour: colour)
        }
    }

    static func dot(_ image: inout RGBImage, _ p: Point, radius: Int, colour: (UInt8, UInt8, UInt8)) {
        let cx = Int(p.x)
        let cy = Int(p.y)
        for y in (cy - radius)...(cy + radius) where y >= 0 && y < image.height {
            for x in (cx - radius)...(cx + radius) where x >= 0 && x < image.width {
                if (x - cx) * (x - cx) + (y - cy) * (y - cy) <= radius * radius { image[x, y] = colour }
            }
        }
    }
}
