import CFFmpeg
import Foundation
import MouthpieceCore

/// Draws on YUV 4:2:0 frames with an FFmpeg filter graph: captions with the `subtitles` filter
/// (libass: white text with a dark outline, centred at the bottom inside a safe margin, wrapped to
/// the frame) and a watermark (`drawtext` for a text mark, `movie` + `overlay` for a PNG).
///
/// The frame handed in is left untouched (the filter draws on its own copy), so a caller that
/// keeps a persistent picture can keep updating only what changed.
final class FrameFilter {
    private var graph: UnsafeMutablePointer<AVFilterGraph>?
    private var source: UnsafeMutablePointer<AVFilterContext>?
    private var sink: UnsafeMutablePointer<AVFilterContext>?
    private var filtered: UnsafeMutablePointer<AVFrame>?

    /// Captions from `subtitles` (an SRT file), a watermark, or both.
    init(subtitles: String?, watermark: Watermark?, width: Int, height: Int, fps: Int) throws {
        for path in [subtitles, watermark?.imagePath].compactMap({ $0 }) {
            guard !path.contains(where: { "':\\,[];=".contains($0) }) else {
                throw MouthpieceError(.internalError, "A file path has characters the filter cannot take: \(path).")
            }
        }
        graph = avfilter_graph_alloc()
        filtered = av_frame_alloc()
        guard let graph, filtered != nil else { throw MouthpieceError(.internalError, "Out of memory.") }
        let arguments =
            "video_size=\(width)x\(height):pix_fmt=\(AV_PIX_FMT_YUV420P.rawValue):time_base=1/\(fps):pixel_aspect=1/1"
        var status = avfilter_graph_create_filter(&source, avfilter_get_by_name("buffer"), "in", arguments, nil, graph)
        if status >= 0 {
            status = avfilter_graph_create_filter(&sink, avfilter_get_by_name("buffersink"), "out", nil, nil, graph)
        }
        guard status >= 0, let source, let sink else {
            throw MouthpieceError(.internalError, "The frame filter could not start: \(ffmpegMessage(status)).")
        }
        // Sizes are in libass's 288-line script space: 16 is a little under 6 % of the height;
        // the bottom margin keeps clear of players' controls.
        let portrait = height > width
        let style = [
            "FontName=DejaVu Sans", "FontSize=\(portrait ? 12 : 16)", "PrimaryColour=&H00FFFFFF",
            "OutlineColour=&H00101010", "BackColour=&H80000000", "BorderStyle=1", "Outline=1.6", "Shadow=0.6",
            "MarginV=\(portrait ? 40 : 18)", "MarginL=16", "MarginR=16", "Alignment=2", "WrapStyle=0",
        ].joined(separator: "\\,")
        var chain = subtitles.map { ["subtitles=filename=\($0):force_style=\(style)"] } ?? []
        if let text = watermark?.drawText(width: width, height: height) { chain.append(text) }
        let base = chain.isEmpty ? "null" : chain.joined(separator: ",")
        let description =
            watermark?.overlay(width: width, height: height).map { "[in]\(base)[base];\($0)" } ?? base
        // The graph's open ends: our source feeds the parsed chain's input, our sink takes its output.
        var outs = avfilter_inout_alloc()
        var ins = avfilter_inout_alloc()
        guard let outputs = outs, let inputs = ins else {
            avfilter_inout_free(&outs)
            avfilter_inout_free(&ins)
            throw MouthpieceError(.internalError, "Out of memory.")
        }
        outputs.pointee.name = av_strdup("in")
        outputs.pointee.filter_ctx = source
        inputs.pointee.name = av_strdup("out")
        inputs.pointee.filter_ctx = sink
        status = avfilter_graph_parse_ptr(graph, description, &ins, &outs, nil)
        // What parsing left unlinked is ours to free.
        avfilter_inout_free(&ins)
        avfilter_inout_free(&outs)
        if status >= 0 { status = avfilter_graph_config(graph, nil) }
        guard status >= 0 else {
            throw MouthpieceError(
                .internalError,
                "The caption or watermark filter could not be set up (are libass and fonts installed?): \(ffmpegMessage(status))."
            )
        }
    }

    /// `frame` with the captions of its time and the watermark drawn on; valid until the next call.
    func burn(_ frame: UnsafeMutablePointer<AVFrame>) throws -> UnsafeMutablePointer<AVFrame> {
        guard let source, let sink, let filtered else { return frame }
        var status = av_buffersrc_add_frame_flags(source, frame, Int32(mp_buffersrc_keep_ref()))
        guard status >= 0 else {
            throw MouthpieceError(.encodingFailed, "Drawing on the frame failed: \(ffmpegMessage(status)).")
        }
        av_frame_unref(filtered)
        status = av_buffersink_get_frame(sink, filtered)
        guard status >= 0, filtered.pointee.format == AV_PIX_FMT_YUV420P.rawValue else {
            throw MouthpieceError(.encodingFailed, "Drawing on the frame failed: \(ffmpegMessage(status)).")
        }
        return filtered
    }

    deinit {
        av_frame_free(&filtered)
        avfilter_graph_free(&graph)
    }
}
