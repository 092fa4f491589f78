using System.Text.Json;
using Microsoft.Extensions.AI;
using Platform.Silo.Gateway;

namespace Platform.Tests.Gateway;

public sealed class ChatRequestMapperTests
{
    private static readonly JsonSerializerOptions Wire = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static GatewayRequest Map(string json) =>
        ChatRequestMapper.Map(JsonSerializer.Deserialize<ChatCompletionRequest>(json, Wire)!);

    private static PlatformException Refuse(string json) => Assert.Throws<PlatformException>(() => Map(json));

    [Fact]
    public void Map_CarriesRolesTextAndParameters()
    {
        var request = Map("""
            {"model":"m","messages":[{"role":"developer","content":"rules"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
             "temperature":0.3,"top_p":0.9,"max_completion_tokens":50,"max_tokens":10,"stop":"END","seed":42,"stream":true,"stream_options":{"include_usage":true}}
            """);

        Assert.Equal([ChatRole.System, ChatRole.User], request.Messages.Select(m => m.Role));
        Assert.Equal("ab", request.Messages[1].Text);
        Assert.Equal(0.3f, request.Options.Temperature);
        Assert.Equal(50, request.Options.MaxOutputTokens);
        Assert.Equal(["END"], request.Options.StopSequences!);
        Assert.Equal(42, request.Options.Seed);
        Assert.True(request.Stream);
        Assert.True(request.IncludeUsage);
    }

    [Fact]
    public void Map_ToolCallsAndToolResults_BecomeFunctionContents()
    {
        var request = Map("""
            {"model":"m","messages":[
              {"role":"user","content":"weather?"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},
              {"role":"tool","tool_call_id":"c1","content":"cold"}],
             "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],
             "tool_choice":{"type":"function","function":{"name":"get_weather"}}}
            """);

        var call = Assert.Single(request.Messages[1].Contents.OfType<FunctionCallContent>());
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("Oslo", call.Arguments!["city"]!.ToString());
        var result = Assert.Single(request.Messages[2].Contents.OfType<FunctionResultContent>());
        Assert.Equal("c1", result.CallId);
        Assert.Equal("get_weather", Assert.Single(request.Options.Tools!).Name);
        Assert.Equal("get_weather", Assert.IsType<RequiredChatToolMode>(request.Options.ToolMode).RequiredFunctionName);
    }

    [Fact]
    public void Map_JsonSchemaResponseFormat_KeepsTheSchema()
    {
        var request = Map("""
            {"model":"m","messages":[{"role":"user","content":"x"}],
             "response_format":{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object","properties":{"a":{"type":"string"}}}}}}
            """);

        var format = Assert.IsType<ChatResponseFormatJson>(request.Options.ResponseFormat);
        Assert.Equal("answer", format.SchemaName);
        Assert.Equal("object", format.Schema!.Value.GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"top_p":1.5}""", "top_p")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0}""", "max_tokens")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]}""", "stop")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"yaml"}}""", "response_format")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"retrieval"}]}""", "tools[0]")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"sometimes"}""", "tool_choice")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[]}]}""", "messages[0].content")]
    [InlineData("""{"model":"m","messages":[{"role":"user"}]}""", "messages[0].content")]
    [InlineData("""{"model":"m","messages":[{"content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x","tool_calls":[{"id":"1","function":{"name":"f"}}]}]}""", "messages[0].tool_calls")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","content":"","tool_calls":[{"id":"1","function":{"name":"f","arguments":"not json"}}]}]}""", "messages[0].tool_calls[0].function.arguments")]
    public void Map_BadValue_IsRefusedNamingTheParameter(string json, string param) => Assert.Equal(param, Refuse(json).Field);
}
