// The multipart/form-data parser (src/http/multipart.cpp): what RFC 2046/7578 and the major
// clients send is accepted, what is malformed or over a limit is refused with a message that says
// which, and feeding the body in pieces gives the same result as feeding it whole.

#include "cutout/http/multipart.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cutout/core/error.hpp"
#include "cutout/http/upload.hpp"

namespace cutout::http {
namespace {

const std::string kB = "xYz-123";

std::string part(const std::string& headers, const std::string& content, const std::string& b = kB) {
  return "--" + b + "\r\n" + headers + "\r\n\r\n" + content + "\r\n";
}

std::string closing(const std::string& b = kB) { return "--" + b + "--\r\n"; }

std::vector<FormPart> parse(const std::string& body) { return parse_multipart(body, kB); }

// The error message for a body that must be refused (empty when it was accepted).
std::string refusal(const std::string& body, MultipartLimits limits = {}) {
  try {
    parse_multipart(body, kB, limits);
  } catch (const Error& e) {
    EXPECT_EQ(e.type(), "invalid_multipart");
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    return e.what();
  }
  return "";
}

void expect_refused(const std::string& body, const std::string& words, MultipartLimits limits = {}) {
  const std::string message = refusal(body, limits);
  EXPECT_NE(message.find(words), std::string::npos) << "message: '" << message << "'";
}

TEST(MultipartBoundary, QuotedOrNotAmongOtherParameters) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"182e92b9-ebbb-4522\""), "182e92b9-ebbb-4522");
  EXPECT_EQ(multipart_boundary("multipart/form-data;charset=utf-8;BOUNDARY=abc"), "abc");
  EXPECT_EQ(multipart_boundary("multipart/form-data ; boundary = abc ; charset=utf-8"), "abc");
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"with space:and'()+_,-./=?\""),
            "with space:and'()+_,-./=?");
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=" + std::string(70, 'a')), std::string(70, 'a'));
}

TEST(MultipartBoundary, MissingEmptyTooLongOrAmbiguousIsNone) {
  EXPECT_FALSE(multipart_boundary("multipart/form-data"));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; charset=utf-8"));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary="));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=\"\""));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'a')));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=\"ends in space \""));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=\"unclosed"));
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=a; boundary=b"));
  EXPECT_FALSE(multipart_boundary(std::string("multipart/form-data; boundary=a\x01", 32)));
}

TEST(MultipartBoundary, MediaTypeIsCaseInsensitive) {
  EXPECT_TRUE(is_multipart_form_data("multipart/form-data; boundary=x"));
  EXPECT_TRUE(is_multipart_form_data("Multipart/Form-Data;boundary=x"));
  EXPECT_TRUE(is_multipart_form_data(" multipart/form-data"));
  EXPECT_FALSE(is_multipart_form_data("multipart/mixed; boundary=x"));
  EXPECT_FALSE(is_multipart_form_data("multipart/form-datax"));
  EXPECT_FALSE(is_multipart_form_data(""));
}

TEST(Multipart, BrowserStyleBody) {
  const auto parts = parse(part("Content-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n"
                                "Content-Type: image/png",
                                std::string("\x89PNG\r\n\x1a\n\0\r\n", 12)) +
                           part("Content-Disposition: form-data; name=\"format\"", "webp") + closing());
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].name, "image");
  EXPECT_EQ(parts[0].filename, "a.png");
  EXPECT_EQ(parts[0].content_type, "image/png");
  EXPECT_EQ(parts[0].content, std::string("\x89PNG\r\n\x1a\n\0\r\n", 12));
  EXPECT_EQ(parts[1].name, "format");
  EXPECT_FALSE(parts[1].filename);
  EXPECT_EQ(parts[1].content, "webp");
}

TEST(Multipart, DotNetStyleUnquotedAndExtendedParametersInAnyOrder) {
  // .NET's HttpClient: Content-Type first, unquoted values, filename* after filename.
  auto parts = parse(part("Content-Type: image/jpeg\r\nContent-Disposition: form-data; name=image; "
                          "filename=photo.jpg; filename*=utf-8''photo.jpg",
                          "JPEG") + closing());
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].name, "image");
  EXPECT_EQ(parts[0].filename, "photo.jpg");
  EXPECT_EQ(parts[0].content, "JPEG");

  // filename before name, extra parameters, whitespace around ';' and '=', names in any case.
  parts = parse(part("content-disposition:FORM-DATA ;filename = \"x.png\" ;  Name=image\t; size=12;creation-date=\"Wed, 12 Feb 1997 16:29:51 -0500\"",
                     "data") + closing());
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].name, "image");
  EXPECT_EQ(parts[0].filename, "x.png");
}

TEST(Multipart, ExtendedValuesWinAndAreDecoded) {
  auto parts = parse(part("Content-Disposition: form-data; filename*=UTF-8''fot%C3%B3%20%E2%82%AC.jpg; "
                          "name=\"image\"; filename=\"foto.jpg\"",
                          "x") + closing());
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].filename, "fot\xC3\xB3 \xE2\x82\xAC.jpg");
  parts = parse(part("Content-Disposition: form-data; name*=iso-8859-1'de'f%F3rmat", "png") + closing());
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].name, "f\xC3\xB3rmat");
  expect_refused(part("Content-Disposition: form-data; name=image; filename*=koi8-r''x", "x") + closing(),
                 "filename* is not an RFC 8187 value");
  expect_refused(part("Content-Disposition: form-data; name=image; filename*=utf-8''bad%zz", "x") + closing(),
                 "filename* is not an RFC 8187 value");
}

TEST(Multipart, QuotedStringsKeepBackslashesExceptBeforeQuoteOrBackslash) {
  const auto parts = parse(part("Content-Disposition: form-data; name=\"a\\\"b\\\\c\"; filename=\"C:\\dir\\p.jpg\"",
                                "x") + closing());
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].name, "a\"b\\c");
  EXPECT_EQ(parts[0].filename, "C:\\dir\\p.jpg");
}

TEST(Multipart, UnquotedValueRunsToTheNextSemicolon) {
  const auto parts = parse(part("Content-Disposition: form-data; name=image; filename=my photo.jpg ", "x") +
                           closing());
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].filename, "my photo.jpg");
}

TEST(Multipart, FoldedHeaderLinesAndExtraHeaders) {
  const auto parts = parse(part("Content-Disposition: form-data;\r\n name=\"image\";\r\n\tfilename=\"a.jpg\"\r\n"
                                "Content-Length: 1\r\nContent-Transfer-Encoding: binary\r\nX-Other: y",
                                "z") + closing());
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].name, "image");
  EXPECT_EQ(parts[0].filename, "a.jpg");
}

TEST(Multipart, PreambleEpiloguePaddingAndNoFinalCrlf) {
  const std::string d = "Content-Disposition: form-data; name=image";
  const std::vector<std::string> bodies = {
      "This is the preamble.\r\nIt is ignored.\r\n" + part(d, "abc") + closing() + "epilogue\r\nmore",
      "--" + kB + " \t \r\n" + d + "\r\n\r\nabc\r\n--" + kB + "--",  // padding, no final CRLF
      part(d, "abc") + "--" + kB + "--   \r\n",                   // padding after the close
      part(d, "abc") + "--" + kB + "--",                           // no CRLF after the close
      "\r\n" + part(d, "abc") + closing(),                          // preamble of just a CRLF
  };
  for (const std::string& body : bodies) {
    SCOPED_TRACE(body);
    const auto parts = parse(body);
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(parts[0].content, "abc");
  }
}

TEST(Multipart, BoundaryTextThatIsNotABoundaryLineIsContent) {
  const std::string content = "a\r\n--" + kB + "X and --" + kB + " mid-line\r\n--" + kB + " x\r\n--" + kB + "-z";
  const auto parts = parse(part("Content-Disposition: form-data; name=image", content) + closing());
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].content, content);
}

TEST(Multipart, EmptyContentAndZeroParts) {
  auto parts = parse(part("Content-Disposition: form-data; name=image; filename=\"\"", "") + closing());
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].content, "");
  EXPECT_EQ(parts[0].filename, "");
  EXPECT_TRUE(parse(closing()).empty());  // no part at all: for the caller to refuse (missing image)
}

TEST(Multipart, FeedingInPiecesGivesTheSameParts) {
  const std::string body =
      "pre\r\n" + part("Content-Disposition: form-data; name=\"image\"; filename=a.png\r\nContent-Type: image/png",
                       "\r\n--xYz-12\r\n--xYz-123X\r\r\n\r\n") +
      "--" + kB + "  \r\n" + "Content-Disposition: form-data; name=format\r\n\r\npng\r\n" + "--" + kB + "--";
  const auto whole = parse(body);
  ASSERT_EQ(whole.size(), 2u);
  for (std::size_t step = 1; step <= 7; ++step) {
    for (std::size_t first = 0; first < body.size(); ++first) {
      MultipartParser parser(kB);
      bool ok = parser.feed(std::string_view(body).substr(0, first));
      for (std::size_t i = first; ok && i < body.size(); i += step) {
        ok = parser.feed(std::string_view(body).substr(i, step));
      }
      ASSERT_TRUE(ok && parser.finish()) << "step " << step << " first " << first << ": " << parser.error();
      ASSERT_EQ(parser.parts().size(), 2u);
      EXPECT_EQ(parser.parts()[0].content, whole[0].content) << "step " << step << " first " << first;
      EXPECT_EQ(parser.parts()[1].content, "png");
    }
  }
}

TEST(Multipart, MalformedBodiesAreRefusedWithTheReason) {
  const std::string d = "Content-Disposition: form-data; name=image";
  expect_refused("", "no boundary line '--xYz-123'");
  expect_refused("--otherBoundary\r\n" + d + "\r\n\r\nx\r\n--otherBoundary--", "no boundary line");
  expect_refused(part(d, "abc"), "without the closing delimiter '--xYz-123--'");
  expect_refused(part(d, "abc") + "--" + kB, "without the closing delimiter");
  expect_refused("--" + kB + "\r\n" + d, "ended inside the header block of part 1");
  expect_refused(part("Content-Type: image/png", "x") + closing(), "part 1 has no Content-Disposition");
  expect_refused("--" + kB + "\r\n\r\nx\r\n" + closing(), "part 1 has no Content-Disposition");
  expect_refused(part("Content-Disposition: attachment; name=image", "x") + closing(), "not form-data");
  expect_refused(part("Content-Disposition: form-data; filename=a.png", "x") + closing(), "no name parameter");
  expect_refused(part("Content-Disposition: form-data; name=\"image", "x") + closing(), "is not closed");
  expect_refused(part("Content-Disposition: form-data; name=a; NAME=b", "x") + closing(), "appears twice");
  expect_refused(part("Content-Disposition: form-data; name", "x") + closing(), "has no value");
  expect_refused(part("Content-Disposition: form-data; name=\"a\" junk", "x") + closing(), "expected ';'");
  expect_refused(part(d + "\r\nContent-Disposition: form-data; name=b", "x") + closing(), "two Content-Disposition");
  expect_refused(part(d + "\r\nnot a header", "x") + closing(), "is not 'Name: value'");
  expect_refused(part(d + "\r\nContent-Transfer-Encoding: base64", "eA==") + closing(), "base64");
  // The second part is the broken one: the message says which.
  expect_refused(part(d, "x") + part("Content-Type: x", "y") + closing(), "part 2 has no Content-Disposition");
}

TEST(Multipart, PartCountLimitRefusesAMillionEmptyPartsEarly) {
  const std::string empty_part = part("Content-Disposition: form-data; name=x", "");
  MultipartLimits limits;
  limits.max_parts = 64;
  MultipartParser parser(kB, limits);
  std::size_t fed = 0;
  bool ok = true;
  for (int i = 0; i < 1'000'000 && ok; ++i) {
    ok = parser.feed(empty_part);
    fed += empty_part.size();
  }
  EXPECT_FALSE(ok);
  EXPECT_NE(parser.error().find("more than 64 parts"), std::string::npos) << parser.error();
  EXPECT_LE(fed, empty_part.size() * 66);  // stopped at part 65, not after a million
  EXPECT_TRUE(parser.parts().empty());      // and nothing kept
  EXPECT_FALSE(parser.finish());

  std::string body;
  for (int i = 0; i < 64; ++i) body += empty_part;
  EXPECT_EQ(parse_multipart(body + closing(), kB, limits).size(), 64u);  // the limit itself is fine
}

TEST(Multipart, HeaderBlockAndPaddingLimitsCountEveryByte) {
  MultipartLimits limits;
  limits.max_header_bytes = 200;
  const std::string name = "Content-Disposition: form-data; name=image; filename=\"";
  // Refused while the block is still arriving: no end of headers needed.
  MultipartParser parser(kB, limits);
  EXPECT_TRUE(parser.feed("--" + kB + "\r\n" + name));
  EXPECT_FALSE(parser.feed(std::string(300, 'a')));
  EXPECT_NE(parser.error().find("header block of part 1 is over 200 bytes"), std::string::npos) << parser.error();
  // A complete block over the limit, and one at it.
  const std::string at_limit = name + std::string(200 - name.size() - 3, 'a') + "\"";
  EXPECT_EQ(parse_multipart(part(at_limit, "x") + closing(), kB, limits).size(), 1u);
  EXPECT_THROW(parse_multipart(part(at_limit + "b", "x") + closing(), kB, limits), Error);
  // At the limit, split just before the blank line ends: still accepted (the CRLF to come counts).
  const std::string body = part(at_limit, "x") + closing();
  const std::size_t cut = body.find("\r\n\r\n") + 3;
  MultipartParser split(kB, limits);
  EXPECT_TRUE(split.feed(std::string_view(body).substr(0, cut))) << split.error();
  EXPECT_TRUE(split.feed(std::string_view(body).substr(cut)) && split.finish()) << split.error();
  // Padding after the boundary line counts towards the same budget.
  EXPECT_THROW(parse_multipart("--" + kB + std::string(100, ' ') + "\r\n" + at_limit + "\r\n\r\nx\r\n" + closing(),
                               kB, limits),
               Error);
  MultipartParser padded(kB, limits);
  EXPECT_FALSE(padded.feed("--" + kB + std::string(5000, ' ')));
  EXPECT_NE(padded.error().find("padding"), std::string::npos) << padded.error();
}

TEST(Multipart, NothingIsReadAfterTheCloseOrAFailure) {
  MultipartParser parser(kB);
  EXPECT_TRUE(parser.feed(part("Content-Disposition: form-data; name=image", "x") + closing()));
  EXPECT_TRUE(parser.complete());
  EXPECT_TRUE(parser.feed(std::string(1 << 20, 'e')));  // epilogue: ignored, not kept
  EXPECT_TRUE(parser.finish());
  ASSERT_EQ(parser.parts().size(), 1u);
  EXPECT_EQ(parser.parts()[0].content, "x");
}

TEST(UploadContentType, GenericTypesAreJudgedByTheBytesOthersAreRefused) {
  for (const char* raw : {"", "application/octet-stream", "image/png", "image/jpeg; q=1", "IMAGE/WEBP",
                          "application/x-www-form-urlencoded", "text/plain", "text/plain;charset=UTF-8",
                          " Application/Octet-Stream "}) {
    EXPECT_EQ(classify_content_type(raw), BodyType::Raw) << raw;
  }
  EXPECT_EQ(classify_content_type("multipart/form-data; boundary=x"), BodyType::Multipart);
  EXPECT_EQ(classify_content_type("Multipart/Form-Data; boundary=x"), BodyType::Multipart);
  for (const char* other : {"application/json", "multipart/mixed; boundary=x", "text/html", "video/mp4",
                            "application/pdf", "text/plainx"}) {
    EXPECT_EQ(classify_content_type(other), BodyType::Unsupported) << other;
  }
}

// Every byte read counts against the total: a million empty parts (a chunked body to the old
// library parser cost +348 MB past the 32 MiB limit), an epilogue, a preamble, padding.
TEST(MultipartTotal, AMillionEmptyPartsAreRefusedAtTheByteLimitFedPieceByPiece) {
  const std::string empty_part = "--" + kB + "\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n";
  MultipartLimits limits;
  limits.max_parts = SIZE_MAX;  // the byte count alone must stop it
  limits.max_total_bytes = 1u << 20;
  MultipartParser parser(kB, limits);
  std::size_t fed = 0;
  bool refused = false;
  for (int i = 0; i < 1'000'000 && !refused; ++i) {
    refused = !parser.feed(empty_part);
    fed += empty_part.size();
  }
  EXPECT_TRUE(refused);
  EXPECT_TRUE(parser.over_total());
  EXPECT_LE(fed, limits.max_total_bytes + empty_part.size());
  EXPECT_NE(parser.error().find("over 1048576 bytes"), std::string::npos) << parser.error();
  EXPECT_TRUE(parser.parts().empty());  // dropped on failure

  MultipartParser counted(kB);  // default limits: the part count stops it first
  bool stopped = false;
  for (int i = 0; i < 1'000'000 && !stopped; ++i) stopped = !counted.feed(empty_part);
  EXPECT_NE(counted.error().find("more than 64 parts"), std::string::npos) << counted.error();
}

TEST(MultipartTotal, PreambleEpilogueAndPaddingCount) {
  const std::string body = "--" + kB + "\r\nContent-Disposition: form-data; name=image\r\n\r\nxyz\r\n" + closing();
  MultipartLimits limits;
  limits.max_total_bytes = body.size() + 100;
  EXPECT_EQ(refusal(body, limits), "");  // under the limit: accepted
  EXPECT_EQ(refusal(body + std::string(100, 'e'), limits), "");  // exactly at it
  expect_refused(body + std::string(101, 'e'), "over", limits);  // the epilogue is read, so counted
  expect_refused(std::string(101, 'p') + "\r\n" + body, "over", limits);  // the preamble too
  const std::string padded = "--" + kB + std::string(150, ' ') +
                             "\r\nContent-Disposition: form-data; name=image\r\n\r\nxyz\r\n" + closing();
  expect_refused(padded, "over", limits);
}

}  // namespace
}  // namespace cutout::http
